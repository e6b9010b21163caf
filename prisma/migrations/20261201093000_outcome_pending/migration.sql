-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "outcomePending" BOOLEAN NOT NULL DEFAULT false;
