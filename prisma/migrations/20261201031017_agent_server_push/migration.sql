-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "pushStatusAt" TEXT,
ADD COLUMN     "pushedAt" TIMESTAMPTZ(3),
ADD COLUMN     "sessionKeyHash" TEXT;

-- CreateIndex
CREATE INDEX "Run_conversationId_idx" ON "Run"("conversationId");
