'use strict';
// A small promise-based client for vaeserve.v1.VaeService (and the model-control calls of
// vaeserve.admin.v1.AdminService), built from proto/ at run time.
// Tensors travel as little-endian float32, row-major; toTensor/fromTensor convert them.

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

// proto/ lives at the repository root, three levels above this file.
const PROTO_ROOT = path.resolve(__dirname, '..', '..', '..', 'proto');
const PROTO_FILE = 'vaeserve/v1/vae_service.proto';
const ADMIN_PROTO_FILE = 'vaeserve/admin/v1/admin_service.proto';
const LOADER_OPTIONS = {
  includeDirs: [PROTO_ROOT],
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

const RETRY_CONFIG = JSON.stringify({
  methodConfig: [{
    name: [{ service: 'vaeserve.v1.VaeService' }],
    retryPolicy: {
      maxAttempts: 5,
      initialBackoff: '0.1s',
      maxBackoff: '2s',
      backoffMultiplier: 2,
      // CANCELLED: a shutting-down server cancels calls it never admitted; every RPC is
      // idempotent. A call this client cancels itself is never retried.
      retryableStatusCodes: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED', 'CANCELLED'],
    },
  }],
});

function loadService() {
  const definition = protoLoader.loadSync(PROTO_FILE, LOADER_OPTIONS);
  return grpc.loadPackageDefinition(definition).vaeserve.v1.VaeService;
}

function loadAdminService() {
  const definition = protoLoader.loadSync(ADMIN_PROTO_FILE, LOADER_OPTIONS);
  return grpc.loadPackageDefinition(definition).vaeserve.admin.v1.AdminService;
}

// Float32Array (or plain numbers) with a shape -> the wire's Tensor message.
function toTensor(values, shape) {
  const floats = Float32Array.from(values);
  const data = Buffer.alloc(floats.length * 4);
  floats.forEach((value, index) => data.writeFloatLE(value, index * 4));
  return { shape: shape.map(String), data };
}

// The wire's Tensor message -> { shape: number[], values: Float32Array }.
function fromTensor(tensor) {
  const values = new Float32Array(tensor.data.length / 4);
  for (let i = 0; i < values.length; i += 1) values[i] = tensor.data.readFloatLE(i * 4);
  return { shape: tensor.shape.map(Number), values };
}

// Options of the index-th channel. grpc-js lets channels with equal options share one
// connection; with several, each gets its own subchannel pool and an option naming its
// index, so each opens its own connection.
function channelOptions(index, channels) {
  const options = {
    'grpc.service_config': RETRY_CONFIG,
    'grpc.enable_retries': 1,
    'grpc.max_receive_message_length': 256 * 1024 * 1024,
  };
  if (channels > 1) {
    options['grpc.use_local_subchannel_pool'] = 1;
    options['vaeserve.channel_index'] = index;
  }
  return options;
}

class VaeClient {
  // channels: connections to open and take in turn, one call each. A channel keeps to one
  // connection, so to one process of a server started with --workers N (SO_REUSEPORT
  // spreads connections, not calls, and by hash): about 4 x N reach them all.
  constructor(target, { deadlineMs = 30000, token = null, credentials = null, channels = 1 } = {}) {
    if (!Number.isInteger(channels) || channels < 1) {
      throw new RangeError(`channels must be an integer of at least 1, got ${channels}`);
    }
    const Service = loadService();
    this.deadlineMs = deadlineMs;
    this.metadata = new grpc.Metadata();
    if (token) this.metadata.set('authorization', `Bearer ${token}`);
    const creds = credentials || grpc.credentials.createInsecure();
    this.stubs = Array.from({ length: channels },
      (_, index) => new Service(target, creds, channelOptions(index, channels)));
    this.turn = 0;
    // Admin calls share the first channel; the retry policy names only VaeService, so
    // LoadModel and UnloadModel (which change the server) are never retried.
    const AdminService = loadAdminService();
    this.admin = new AdminService(target, creds, {
      channelOverride: this.stubs[0].getChannel(),
    });
  }

  // The next channel's stub, round-robin.
  nextStub() {
    const stub = this.stubs[this.turn];
    this.turn = (this.turn + 1) % this.stubs.length;
    return stub;
  }

  call(method, request, { deadlineMs = this.deadlineMs, stub = this.nextStub() } = {}) {
    const deadline = new Date(Date.now() + deadlineMs);
    return new Promise((resolve, reject) => {
      stub[method](request, this.metadata, { deadline }, (error, reply) => {
        if (error) reject(error);
        else resolve(reply);
      });
    });
  }

  listModels() { return this.call('ListModels', {}).then((reply) => reply.models); }

  modelInfo(modelName, modelVersion = 0) {
    return this.call('GetModelInfo', { modelName, modelVersion });
  }

  // count images from the prior; png: true returns PNG files (Buffers) instead of a tensor.
  sample(modelName, count, { seed, temperature, png = false } = {}) {
    const request = {
      modelName, count, imageFormat: png ? 'IMAGE_FORMAT_PNG' : 'IMAGE_FORMAT_TENSOR',
    };
    if (seed !== undefined) request.seed = String(seed);
    if (temperature !== undefined) request.temperature = temperature;
    return this.call('Sample', request);
  }

  decode(modelName, latents, shape, { png = false } = {}) {
    return this.call('Decode', {
      modelName,
      latents: toTensor(latents, shape),
      imageFormat: png ? 'IMAGE_FORMAT_PNG' : 'IMAGE_FORMAT_TENSOR',
    });
  }

  // Every version in the server's repository and every version it holds, with its state
  // ('VERSION_STATE_READY', 'VERSION_STATE_AVAILABLE', 'VERSION_STATE_FAILED' + reason, ...).
  repositoryIndex() {
    return this.call('RepositoryIndex', {}, { stub: this.admin }).then((reply) => reply.models);
  }

  // Load a version (0: the highest in the repository); needs --model-control explicit.
  loadModel(modelName, modelVersion = 0) {
    return this.call('LoadModel', { modelName, modelVersion }, { stub: this.admin })
      .then((reply) => reply.model);
  }

  // Unload a version; resolves to the number of requests that finished on it first.
  unloadModel(modelName, modelVersion) {
    return this.call('UnloadModel', { modelName, modelVersion }, { stub: this.admin })
      .then((reply) => reply.drainedRequests);
  }

  // Closes every channel; a later call rejects.
  close() { this.stubs.forEach((stub) => stub.close()); }
}

module.exports = { VaeClient, loadService, toTensor, fromTensor, status: grpc.status };
