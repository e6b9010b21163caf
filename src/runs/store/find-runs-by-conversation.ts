import type { PrismaClient } from '../../generated/prisma/client.js';

/** What an agent-server push needs to know about the runs of a conversation before it is applied. */
export interface PushTarget {
  id: string;
  sessionKeyHash: string | null;
}

/**
 * The runs that follow a conversation. `ids` are the spellings the conversation id may be stored
 * under (32 hex, or dashed): V1 parses ids as UUIDs, so both name the same conversation.
 */
export function findRunsByConversation(prisma: PrismaClient, ids: string[]): Promise<PushTarget[]> {
  return prisma.run.findMany({
    where: { conversationId: { in: ids } },
    select: { id: true, sessionKeyHash: true },
    take: 10,
  });
}
