import type { PrismaTx } from '../database/prisma.service.js';

/** Whether a user is a member of a room, in a transaction or not. */
export async function isMember(
  db: PrismaTx,
  userId: string,
  room: string,
): Promise<boolean> {
  const row = await db.membership.findUnique({
    where: { room_userId: { room, userId } },
    select: { room: true },
  });
  return row !== null;
}
