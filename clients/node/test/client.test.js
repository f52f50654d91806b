'use strict';
// Runs against a live vaeserve whose address is in VAESERVE_TARGET; the model to use is in
// VAESERVE_TEST_MODEL (a tiny 1x8x8 model with a 2-D latent space in the Python harness).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { VaeClient, fromTensor, status } = require('../src/client');

const target = process.env.VAESERVE_TARGET;
const model = process.env.VAESERVE_TEST_MODEL || 'tiny-grey';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

test('vaeserve over gRPC from Node', { skip: !target && 'VAESERVE_TARGET is not set' }, async (t) => {
  const client = new VaeClient(target);
  t.after(() => client.close());

  await t.test('model info gives the image shape', async () => {
    const info = await client.modelInfo(model);
    assert.strictEqual(info.name, model);
    assert.ok(info.latentDim >= 1);
    assert.ok(info.height >= 1 && info.width >= 1);
  });

  await t.test('sample with a seed is reproducible', async () => {
    const first = fromTensor((await client.sample(model, 3, { seed: 9 })).images.tensor);
    const again = fromTensor((await client.sample(model, 3, { seed: 9 })).images.tensor);
    assert.strictEqual(first.shape[0], 3);
    assert.deepStrictEqual(first.values, again.values);
  });

  await t.test('decode returns one tensor image per latent', async () => {
    const info = await client.modelInfo(model);
    const reply = await client.decode(model, new Array(2 * info.latentDim).fill(0), [2, info.latentDim]);
    const images = fromTensor(reply.images.tensor);
    assert.deepStrictEqual(images.shape, [2, info.channels, info.height, info.width]);
  });

  await t.test('sample as PNG returns PNG files', async () => {
    const reply = await client.sample(model, 2, { seed: 1, png: true });
    assert.strictEqual(reply.images.png.images.length, 2);
    assert.ok(reply.images.png.images[0].subarray(0, 4).equals(PNG_SIGNATURE));
  });

  await t.test('calls spread over three channels all succeed', async () => {
    const spread = new VaeClient(target, { channels: 3 });
    try {
      const info = await spread.modelInfo(model);
      const latents = new Array(2 * info.latentDim).fill(0.5);
      const replies = await Promise.all(Array.from({ length: 6 },
        () => spread.decode(model, latents, [2, info.latentDim])));
      const first = fromTensor(replies[0].images.tensor);
      assert.deepStrictEqual(first.shape, [2, info.channels, info.height, info.width]);
      for (const reply of replies) assert.deepStrictEqual(fromTensor(reply.images.tensor), first);
    } finally {
      spread.close();
    }
  });

  await t.test('an unknown model is NOT_FOUND', async () => {
    await assert.rejects(client.modelInfo('no-such-model'), (error) => error.code === status.NOT_FOUND);
  });

  await t.test('the repository index lists the served model as ready', async () => {
    const index = await client.repositoryIndex();
    const entry = index.find((m) => m.name === model);
    assert.ok(entry);
    assert.strictEqual(entry.state, 'VERSION_STATE_READY');
  });

  await t.test('loading needs explicit model control', async () => {
    await assert.rejects(client.loadModel(model, 1), (error) => error.code === status.FAILED_PRECONDITION);
  });

  await t.test('the example writes a PNG file', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vaeserve-')), 'sample.png');
    execFileSync(process.execPath, [path.join(__dirname, '..', 'examples', 'sample.js'), model, '2', out]);
    assert.ok(fs.readFileSync(out).subarray(0, 4).equals(PNG_SIGNATURE));
  });
});
