-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "activityCount" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "awaitingSince" TIMESTAMPTZ(3),
ADD COLUMN     "outcome" JSONB,
ADD COLUMN     "question" TEXT;

-- AlterTable
ALTER TABLE "RunEvent" ADD COLUMN     "upstreamId" TEXT;

-- CreateTable
CREATE TABLE "RunMessage" (
    "id" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "idempotencyKey" TEXT,
    "eventSeq" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "nextAttemptAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMPTZ(3),

    CONSTRAINT "RunMessage_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "RunMessage_runId_status_createdAt_idx" ON "RunMessage"("runId", "status", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "RunMessage_runId_idempotencyKey_key" ON "RunMessage"("runId", "idempotencyKey");

-- CreateIndex
CREATE UNIQUE INDEX "RunEvent_runId_upstreamId_key" ON "RunEvent"("runId", "upstreamId");

-- AddForeignKey
ALTER TABLE "RunMessage" ADD CONSTRAINT "RunMessage_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;
