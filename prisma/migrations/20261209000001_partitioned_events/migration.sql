-- The events table becomes a table partitioned by range of created_at, so
-- that retention by age drops whole partitions instead of deleting rows.
-- The library creates the partitions ahead and drops expired ones
-- (docs/operations.md#partitions).
--
-- Locks: ACCESS EXCLUSIVE on "events" from the rename to the end, which
-- covers one sequential scan of the existing rows (Postgres checks that they
-- fit the old events' partition: 1.6 s for a million events of 200 bytes,
-- 256 MB, on a 2-core machine);
-- sends and reads wait meanwhile. A database that cannot take that now can
-- mark this migration applied and keep the table as it is: the library
-- finds the layout at start-up and trims either (docs/operations.md).

ALTER TABLE "events" RENAME TO "events_old";
ALTER INDEX "events_pkey" RENAME TO "events_old_pkey";

CREATE TABLE "events" (
    "channel" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "type" TEXT NOT NULL,
    "data" JSON NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
) PARTITION BY RANGE ("created_at");

DO $$
DECLARE
    -- The old rows' partition ends here, and the first new one starts: now,
    -- or just past the newest old row if the clock is behind it.
    bound TIMESTAMPTZ := greatest(
        date_trunc('milliseconds', clock_timestamp()),
        (SELECT max("created_at") FROM "events_old") + INTERVAL '1 millisecond');
BEGIN
    IF EXISTS (SELECT 1 FROM "events_old") THEN
        EXECUTE format(
            'ALTER TABLE "events" ATTACH PARTITION "events_old" FOR VALUES FROM (MINVALUE) TO (%L)',
            bound);
        -- An hour ahead, so that instances of the previous version keep
        -- sending until one of this version starts and creates the next.
        EXECUTE format('CREATE TABLE %I (LIKE "events" INCLUDING DEFAULTS)',
            'events_p' || (extract(epoch FROM bound) * 1000)::bigint);
        EXECUTE format('ALTER TABLE "events" ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
            'events_p' || (extract(epoch FROM bound) * 1000)::bigint, bound, bound + INTERVAL '1 hour');
    ELSE
        -- A new or empty log: the library creates the partitions it needs as it starts.
        DROP TABLE "events_old";
    END IF;
END $$;

-- Retention by age drops partitions now: the old table's own index for it goes.
DROP INDEX IF EXISTS "events_created_at_idx";

-- Created after the old rows' partition is attached, and only on the parent,
-- so that their primary key serves them and no index is built under the
-- lock. Every partition created later gets its own. Reads by channel and seq
-- use each partition's index.
CREATE INDEX "events_channel_seq_idx" ON ONLY "events" ("channel", "seq");
