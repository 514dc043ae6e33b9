-- Presence: each instance's share of the open streams, rewritten as they
-- open and close, and the users whose join was announced. UNLOGGED: the rows
-- describe live connections, are rewritten every few seconds, and a crash
-- that empties them is repaired by the instances' next heartbeat.

-- CreateTable
CREATE UNLOGGED TABLE "presence_instances" (
    "instance_id" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "presence_instances_pkey" PRIMARY KEY ("instance_id")
);

-- CreateTable
CREATE UNLOGGED TABLE "presence_streams" (
    "channel" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "instance_id" TEXT NOT NULL,
    "streams" INTEGER NOT NULL,

    CONSTRAINT "presence_streams_pkey" PRIMARY KEY ("channel","user_id","instance_id")
);

-- CreateIndex
CREATE INDEX "presence_streams_instance_id_idx" ON "presence_streams"("instance_id");

-- CreateTable
CREATE TABLE "presence_announced" (
    "channel" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,

    CONSTRAINT "presence_announced_pkey" PRIMARY KEY ("channel","user_id")
);
