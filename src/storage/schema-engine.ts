import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import * as glue from '@prisma/schema-engine-wasm/schema_engine_bg';

// Prisma's native schema engine cannot be downloaded on our machines, so migrations run on the
// official WebAssembly build. Its ESM entry imports a .wasm file, which Node 20 only allows behind
// --experimental-wasm-modules; instantiating the module by hand works everywhere (vitest included).
let instantiated: Promise<void> | undefined;

function instantiate(): Promise<void> {
  instantiated ??= (async () => {
    const require = createRequire(import.meta.url);
    const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bytes = await readFile(new URL('schema_engine_bg.wasm', `file://${gluePath}`));
    const module = new WebAssembly.Module(bytes);
    const exported = glue as unknown as Record<string, unknown>;
    const imports: Record<string, Record<string, unknown>> = {};
    for (const { module: from, name } of WebAssembly.Module.imports(module)) {
      imports[from] ??= {};
      imports[from][name] = exported[name];
    }
    const instance = new WebAssembly.Instance(module, imports as WebAssembly.Imports);
    (glue as unknown as { __wbg_set_wasm(e: unknown): void }).__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();
  })();
  return instantiated;
}

/**
 * Runs `work` with a schema engine connected through `factory`. The engine does not dispose the
 * connections it opens (a pg pool would keep the process alive), so they are tracked and closed here.
 * Note: the engine's 10 s migration-lock timeout lives on as a pending timer after it is freed, so
 * short-lived scripts should exit explicitly rather than wait for the event loop to drain.
 */
export async function withSchemaEngine<T>(
  schemaPath: string,
  schemaText: string,
  factory: SqlMigrationAwareDriverAdapterFactory,
  work: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  await instantiate();
  const opened: SqlDriverAdapter[] = [];
  const tracking: SqlMigrationAwareDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => remember(await factory.connect()),
    connectToShadowDb: async () => remember(await factory.connectToShadowDb()),
  };
  function remember(adapter: SqlDriverAdapter): SqlDriverAdapter {
    opened.push(adapter);
    return adapter;
  }
  const Engine = (glue as unknown as { SchemaEngine: typeof SchemaEngine }).SchemaEngine;
  const engine = await Engine.new(
    { datamodels: [[schemaPath, schemaText]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(tracking),
  );
  try {
    return await work(engine);
  } finally {
    engine.free();
    await Promise.allSettled(opened.map((adapter) => adapter.dispose()));
  }
}

export const noSchemaFilter = { externalTables: [], externalEnums: [] };
