'use strict';
// { channels: N } opens N connections and takes them in turn. A grpc-js server in this
// process notes the peer (client address and port, one per connection) of every call.
const test = require('node:test');
const assert = require('node:assert');
const grpc = require('@grpc/grpc-js');
const { VaeClient, loadService } = require('../src/client');

async function peerRecorder() {
  const server = new grpc.Server();
  const peers = [];
  server.addService(loadService().service, {
    ListModels(call, callback) {
      peers.push(call.getPeer());
      callback(null, { models: [] });
    },
  });
  const port = await new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    });
  });
  return { server, peers, target: `127.0.0.1:${port}` };
}

test('calls take three channels in turn, each its own connection', async () => {
  const { server, peers, target } = await peerRecorder();
  const client = new VaeClient(target, { channels: 3 });
  try {
    for (let i = 0; i < 9; i += 1) await client.listModels();
    assert.strictEqual(new Set(peers).size, 3);
    assert.deepStrictEqual(peers.slice(3), peers.slice(0, -3)); // 1, 2, 3, 1, 2, 3, ...
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test('one channel keeps one connection', async () => {
  const { server, peers, target } = await peerRecorder();
  const client = new VaeClient(target);
  try {
    for (let i = 0; i < 4; i += 1) await client.listModels();
    assert.strictEqual(new Set(peers).size, 1);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test('close closes every channel', async () => {
  const { server, target } = await peerRecorder();
  const client = new VaeClient(target, { channels: 3 });
  try {
    for (let i = 0; i < 3; i += 1) await client.listModels();
    client.close();
    for (let i = 0; i < 3; i += 1) {
      await assert.rejects(client.listModels(), /shut ?down|closed/i);
    }
  } finally {
    server.forceShutdown();
  }
});

test('fewer than one channel is refused', () => {
  assert.throws(() => new VaeClient('127.0.0.1:1', { channels: 0 }), RangeError);
});
