-- When each channel's last event was appended. Appends stamp their events'
-- created_at from it, so created_at never goes back within a channel (it no
-- longer follows the start of the appending transaction, which can be
-- earlier than that of a transaction appending the seq before): a prefix of
-- every channel is then a range of created_at, and dropping the oldest
-- partitions (20261209000001_partitioned_events) leaves no hole in any
-- channel's seqs. A column without a default: added without a rewrite.

-- AlterTable
ALTER TABLE "channels" ADD COLUMN "last_at" TIMESTAMPTZ(3);
