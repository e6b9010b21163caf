-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "changedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateIndex
CREATE INDEX "Run_changedAt_idx" ON "Run"("changedAt");
