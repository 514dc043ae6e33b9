-- CreateTable
CREATE TABLE "channels" (
    "name" TEXT NOT NULL,
    "last_seq" BIGINT NOT NULL,

    CONSTRAINT "channels_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "events" (
    "channel" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "type" TEXT NOT NULL,
    "data" JSON NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "events_pkey" PRIMARY KEY ("channel","seq")
);

-- CreateIndex
CREATE INDEX "events_created_at_idx" ON "events"("created_at");
