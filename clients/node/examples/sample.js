'use strict';
// Sample images from a vaeserve model and write the first one as a PNG file.
//   node examples/sample.js [model] [count] [out.png]   (server: $VAESERVE_TARGET)
const fs = require('node:fs');
const { VaeClient } = require('../src/client');

async function main() {
  const [model = 'fashion-mnist-conv', count = '8', out = 'sample.png'] = process.argv.slice(2);
  const client = new VaeClient(process.env.VAESERVE_TARGET || 'localhost:50051');
  try {
    const reply = await client.sample(model, Number(count), { seed: 1, png: true });
    const pngs = reply.images.png.images;
    fs.writeFileSync(out, pngs[0]);
    console.log(`wrote 1 of ${pngs.length} samples (seed ${reply.seed}) to ${out}`);
  } finally {
    client.close();
  }
}

main().catch((error) => {
  console.error(`sample: ${error.details || error.message}`);
  process.exitCode = 1;
});
