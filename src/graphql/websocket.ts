import type { Server } from 'node:http';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { type WebSocket, WebSocketServer } from 'ws';
import { authenticate } from '../auth/authenticate.js';
import type { Principal } from '../auth/principal.js';
import type { TokenEnd } from '../auth/revocation.js';
import { TokenExpiredError, type TokenVerifier } from '../auth/tokens.js';
import { AppError } from '../errors.js';
import type { Yoga } from './yoga.js';

export interface WebSocketOptions {
  /** Ping interval; a client that does not answer within it is disconnected. */
  keepAliveMs: number;
  /** Largest message accepted (GRAPHQL_MAX_BODY_BYTES); bigger ones close the socket with 1009. */
  maxPayloadBytes?: number;
  /** Open sockets one token may hold on this replica (MAX_CONNECTIONS_PER_TOKEN); 0 = no limit. */
  maxConnectionsPerToken?: number;
  /** Told when a socket is refused for that limit (metrics). */
  onConnectionLimit?: () => void;
}

interface EnvelopRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/**
 * graphql-ws (protocol graphql-transport-ws) on the HTTP server's /graphql path, running every
 * operation through yoga's envelop pipeline (context with auth, error masking), as in yoga's own
 * graphql-ws recipe. A connection without a valid token is refused at connection_init.
 */
export function attachWebSocket(
  server: Server,
  yoga: Yoga,
  tokens: TokenVerifier,
  options: WebSocketOptions,
) {
  const wss = new WebSocketServer({
    server,
    path: '/graphql',
    maxPayload: options.maxPayloadBytes ?? 1024 * 1024,
  });
  // Who opened each socket, so a revoked token's sockets can be found and closed.
  const principals = new Map<WebSocket, Principal>();
  const disposable = useServer(
    {
      execute: (args) => (args.rootValue as EnvelopRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as EnvelopRoot).subscribe(args) as never,
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization;
        const socket = ctx.extra.socket;
        let principal: Principal;
        try {
          principal = await authenticate(tokens, typeof header === 'string' ? header : null);
        } catch (error) {
          // An expired token: the same 4403 as a bad one, with the reason.
          if (error instanceof TokenExpiredError)
            socket.close(CloseCode.Forbidden, `Forbidden: ${error.message}`);
          if (error instanceof AppError) return false;
          throw error;
        }
        // false → graphql-ws closes the socket with 4403 Forbidden.
        if (!principal) return false;
        // Gone while its token was checked: its 'close' has fired already, so it must not be registered.
        if (socket.readyState !== socket.OPEN) return false;
        // Counted after the await and registered right below, so concurrent connects cannot slip past.
        const max = options.maxConnectionsPerToken ?? 0;
        if (max > 0 && countOf(principals, principal.name) >= max) {
          options.onConnectionLimit?.();
          // 1008 Policy Violation with the reason, not graphql-ws's 4403, which would read as a bad token.
          socket.close(1008, `Too many open connections for this token (at most ${max})`);
          return false;
        }
        // Nothing reads the upgrade request after this check; graphql-ws would hold it (headers and
        // all) for the socket's whole life, which at thousands of idle sockets is real memory.
        (ctx.extra as { request?: unknown }).request = undefined;
        principals.set(socket, principal);
        socket.once('close', () => principals.delete(socket));
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          socket: ctx.extra.socket,
          params: payload,
          connectionParams: ctx.connectionParams,
        });
        let contextValue: unknown;
        try {
          contextValue = await contextFactory();
        } catch (error) {
          // e.g. the token was revoked after connecting: refuse this operation with its code.
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        let document: ReturnType<typeof parse>;
        try {
          document = parse(payload.query);
        } catch (error) {
          // A syntax error or an oversized document: an error for this operation, not a 4500 close.
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const args = {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wss,
    options.keepAliveMs,
  );
  return {
    get clients() {
      return wss.clients.size;
    },
    /** Stored-token ids behind open sockets (revocation check). */
    tokenIds(): string[] {
      return [...principals.values()].flatMap((p) => (p.tokenId ? [p.tokenId] : []));
    },
    /** Closes the sockets opened with this token with 4403 Forbidden; returns how many. */
    closeFor(tokenId: string, why: TokenEnd = 'revoked'): number {
      const reason =
        why === 'expired' ? 'Forbidden: the API token expired' : 'Forbidden: the API token was revoked';
      let closed = 0;
      for (const [socket, principal] of principals) {
        if (principal.tokenId !== tokenId) continue;
        socket.close(CloseCode.Forbidden, reason);
        principals.delete(socket);
        closed++;
      }
      return closed;
    },
    /** Closes every socket with 1001 Going Away and stops accepting. */
    async close(): Promise<void> {
      await disposable.dispose();
    },
  };
}

function countOf(principals: Map<WebSocket, Principal>, name: string): number {
  let open = 0;
  for (const p of principals.values()) if (p.name === name) open++;
  return open;
}

export { CloseCode };
