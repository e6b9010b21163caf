import type { PrismaClient } from '../../generated/prisma/client.js';

/** What an agent-server push needs to know about the runs of a conversation before it is applied. */
export interface PushTarget {
  id: string;
  conversationId: string;
  sessionKeyHash: string | null;
}

/**
 * The runs that follow some conversations (src/push/lookup.ts asks for many at once). `ids` are
 * the spellings their ids may be stored under (32 hex, or dashed): V1 parses ids as UUIDs, so both
 * name the same conversation.
 */
export async function findRunsByConversation(prisma: PrismaClient, ids: string[]): Promise<PushTarget[]> {
  const rows = await prisma.run.findMany({
    where: { conversationId: { in: ids } },
    select: { id: true, conversationId: true, sessionKeyHash: true },
  });
  return rows.flatMap((row) => (row.conversationId ? [{ ...row, conversationId: row.conversationId }] : []));
}
