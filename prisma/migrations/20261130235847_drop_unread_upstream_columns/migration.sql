-- AlterTable
ALTER TABLE "Run" DROP COLUMN "upstreamDetail",
DROP COLUMN "upstreamUpdatedAt";
