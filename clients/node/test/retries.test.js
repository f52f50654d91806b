'use strict';
// The client's channel retries transient codes and never a caller's mistake. A grpc-js
// server in this process refuses the first calls with a chosen code, then answers.
const test = require('node:test');
const assert = require('node:assert');
const grpc = require('@grpc/grpc-js');
const { VaeClient, loadService, status } = require('../src/client');

async function refusingServer(refusals, code) {
  const server = new grpc.Server();
  const seen = { calls: 0 };
  server.addService(loadService().service, {
    ListModels(call, callback) {
      seen.calls += 1;
      if (seen.calls <= refusals) callback({ code, details: 'refused by the test server' });
      else callback(null, { models: [{ name: 'm', version: 1 }] });
    },
  });
  const port = await new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    });
  });
  return { server, seen, target: `127.0.0.1:${port}` };
}

for (const code of [status.UNAVAILABLE, status.RESOURCE_EXHAUSTED, status.CANCELLED]) {
  test(`status ${code} is retried until the server answers`, async () => {
    const { server, seen, target } = await refusingServer(2, code);
    const client = new VaeClient(target, { deadlineMs: 10000 });
    try {
      const models = await client.listModels();
      assert.strictEqual(models.length, 1);
      assert.strictEqual(seen.calls, 3);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
}

test('INVALID_ARGUMENT is not retried', async () => {
  const { server, seen, target } = await refusingServer(1, status.INVALID_ARGUMENT);
  const client = new VaeClient(target, { deadlineMs: 10000 });
  try {
    await assert.rejects(client.listModels(), (error) => error.code === status.INVALID_ARGUMENT);
    assert.strictEqual(seen.calls, 1);
  } finally {
    client.close();
    server.forceShutdown();
  }
});
