-- AlterTable
ALTER TABLE "WebhookEndpoint" ADD COLUMN     "runId" TEXT;

-- CreateIndex
CREATE INDEX "WebhookEndpoint_runId_idx" ON "WebhookEndpoint"("runId");
