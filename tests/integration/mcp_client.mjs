// The official MCP TypeScript SDK's client driving orch-mcp over stdio, for
// tests/integration/test_mcp.c. It does what an assistant would, records
// what it got, and writes one JSON document to $ORCH_MCP_OUT; the C test decides
// what is right. Nothing here judges.
//
//   node mcp_client.mjs MODE
//     MODE "suite": every tool and resource against a running suite, a
//                   malformed call, an unknown tool, a bad argument, and a
//                   second server with --allow-writes calling retry;
//     MODE "down":  the tools against a server where no service answers,
//                   each call timed.
// Environment: ORCH_MCP_BIN (the orch-mcp binary), ORCH_NATS_URL (and
// ORCH_NATS_USER, ORCH_NATS_PASSWORD, passed on to orch-mcp when set),
// ORCH_MCP_NODE_MODULES (where @modelcontextprotocol/sdk is installed),
// ORCH_MCP_OUT (the file for the record).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.ORCH_MCP_NODE_MODULES, 'x.js'));
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');
const { CallToolResultSchema } = require('@modelcontextprotocol/sdk/types.js');

const bin = process.env.ORCH_MCP_BIN;
const url = process.env.ORCH_NATS_URL;
const out = {};

// What the server is started with: PATH and the NATS identity, when the
// test gives one (an MCP client passes a server only what it is told to).
function identity() {
  const env = { PATH: process.env.PATH || '' };
  for (const k of ['ORCH_NATS_USER', 'ORCH_NATS_PASSWORD']) if (process.env[k]) env[k] = process.env[k];
  return env;
}

async function open(args) {
  const transport = new StdioClientTransport({
    command: bin, args: ['--server', url, ...args], stderr: 'inherit', env: identity(),
  });
  const client = new Client({ name: 'orch-mcp-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

// A tool's result, or the protocol error it raised, with how long it took.
async function call(client, name, args) {
  const t0 = Date.now();
  try {
    const r = await client.callTool({ name, arguments: args }, CallToolResultSchema, { timeout: 30000 });
    return { ms: Date.now() - t0, isError: !!r.isError, text: r.content?.[0]?.text ?? null,
             structured: r.structuredContent ?? null };
  } catch (e) {
    return { ms: Date.now() - t0, rpcError: { code: e.code, message: e.message } };
  }
}

// A line written to orch-mcp as it is, and the first line it answers.
function raw(lines) {
  return new Promise((resolve) => {
    const p = spawn(bin, ['--server', url], { stdio: ['pipe', 'pipe', 'inherit'], env: identity() });
    let buf = '';
    const answers = [];
    p.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        answers.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
      if (answers.length === lines.filter((l) => l.expect).length) p.stdin.end();
    });
    p.on('close', (code) => resolve({ code, answers }));
    for (const l of lines) p.stdin.write(l.text + '\n');
  });
}

async function suite() {
  const c = await open([]);
  out.server = c.getServerVersion();
  out.instructions = c.getInstructions();
  out.tools = (await c.listTools()).tools.map((t) => ({ name: t.name, schema: t.inputSchema }));
  out.submit = await call(c, 'submit_requirements', { requirements: [
    { id: 'MCP-1', title: 'Expose the queue as MCP tools', priority: 'HIGH', assignedAgent: 'backend',
      files: ['tools/mcp/mcp.c'], acceptanceCriteria: ['tools/list answers'] },
    { title: 'Document orch-mcp', assignedAgent: 'documentation', description: 'docs/mcp.md' },
  ] });
  out.duplicate = await call(c, 'submit_requirements', { requirements: [{ id: 'MCP-1', title: 'again' }] });
  // the scheduler learns of the requirement a moment after the router
  for (let i = 0; i < 50; i++) {
    out.status = await call(c, 'status', { id: 'MCP-1' });
    if (!out.status.isError) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  out.listBackend = await call(c, 'list_requirements', { type: 'backend' });
  out.listText = await call(c, 'list_requirements', { text: 'document' });
  out.listPage = await call(c, 'list_requirements', { limit: 1 });
  out.dashboard = await call(c, 'dashboard', {});
  out.agents = await call(c, 'agents', {});
  out.resources = (await c.listResources()).resources.map((r) => r.uri);
  out.templates = (await c.listResourceTemplates()).resourceTemplates.map((r) => r.uriTemplate);
  out.roadmap = (await c.readResource({ uri: 'orch://roadmap' })).contents[0];
  out.detail = (await c.readResource({ uri: 'orch://requirements/MCP-1' })).contents[0];
  try {
    await c.readResource({ uri: 'orch://requirements/NOPE-1' });
    out.missingDetail = { answered: true };
  } catch (e) {
    out.missingDetail = { code: e.code, message: e.message };
  }
  out.badArgument = await call(c, 'status', { id: 42 });
  out.badSubmit = await call(c, 'submit_requirements', { requirements: [{ title: 'ok' }, { files: ['x'] }] });
  out.retryReadOnly = await call(c, 'retry', { id: 'MCP-1' });
  out.unknownTool = await call(c, 'no_such_tool', {});
  try {
    await c.request({ method: 'tools/call', params: { name: 42 } }, CallToolResultSchema);
    out.malformedCall = { answered: true };
  } catch (e) {
    out.malformedCall = { code: e.code, message: e.message };
  }
  out.ping = await c.ping();
  await c.close();

  const w = await open(['--allow-writes']);
  out.writeTools = (await w.listTools()).tools.map((t) => t.name);
  out.retry = await call(w, 'retry', { id: 'MCP-1' });
  await w.close();

  out.raw = await raw([
    { text: 'this is not json', expect: true },
    { text: '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1999-01-01","capabilities":{}}}',
      expect: true },
  ]);
}

async function down() {
  const c = await open(['--timeout-ms', '3000']);
  out.status = await call(c, 'status', { id: 'MCP-1' });
  out.dashboard = await call(c, 'dashboard', {});
  out.submit = await call(c, 'submit_requirements', { requirements: [{ title: 'nobody reads this' }] });
  await c.close();
}

const mode = process.argv[2];
try {
  await (mode === 'down' ? down() : suite());
} catch (e) {
  out.failed = String(e && e.stack ? e.stack : e);
}
writeFileSync(process.env.ORCH_MCP_OUT, JSON.stringify(out, null, 1) + '\n');
