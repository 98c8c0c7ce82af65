// The official openai npm client against glm-run serve, used exactly as GLM-5.2's hosted endpoint is used:
// chat completions with temperature / top_p / max_tokens, streamed, reading delta.content and
// delta.reasoning_content. The xUnit test OpenAiClientTests starts a server with a scripted model and passes:
//   GLM_BASE_URL (http://127.0.0.1:PORT/v1), GLM_API_KEY, GLM_MODEL, GLM_EXPECT_REASONING, GLM_EXPECT_CONTENT.
// Prints one JSON summary line; exits 1 with a message on the first mismatch.
// With GLM_SCHEMA set (a JSON Schema), it instead asks for structured output (response_format json_schema, streamed
// and not, several seeds) and prints the answers and finish reasons; the xUnit side validates them.
import OpenAI from 'openai';

const env = (name) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`environment variable ${name} is not set`);
  return value;
};
const model = env('GLM_MODEL');
const expectReasoning = env('GLM_EXPECT_REASONING');
const expectContent = env('GLM_EXPECT_CONTENT');
const client = new OpenAI({ baseURL: env('GLM_BASE_URL'), apiKey: env('GLM_API_KEY'), maxRetries: 0, timeout: 30000 });

function check(what, actual, expected) {
  if (actual !== expected) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

const messages = [{ role: 'user', content: 'Hi' }];
const summary = {};

if (process.env.GLM_SCHEMA) {
  const schema = JSON.parse(process.env.GLM_SCHEMA);
  const response_format = { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema } };
  const common = { model, messages, temperature: 1, max_tokens: 100, response_format, reasoning_effort: 'none' };
  const answers = [];
  for (let seed = 1; seed <= 3; seed++) {
    const completion = await client.chat.completions.create({ ...common, seed });
    answers.push({ content: completion.choices[0].message.content, finish: completion.choices[0].finish_reason });
    const stream = await client.chat.completions.create({ ...common, seed, stream: true });
    let content = '';
    let finish = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      content += choice.delta.content ?? '';
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    answers.push({ content, finish });
  }
  console.log(JSON.stringify({ ok: true, answers }));
  process.exit(0);
}

const models = await client.models.list();
check('models.list ids', models.data.map((m) => m.id).join(','), model);

const completion = await client.chat.completions.create({ model, messages, temperature: 0.6, top_p: 0.95, max_tokens: 200 });
check('non-streamed content', completion.choices[0].message.content, expectContent);
check('non-streamed reasoning_content', completion.choices[0].message.reasoning_content, expectReasoning);
check('non-streamed finish_reason', completion.choices[0].finish_reason, 'stop');
summary.usage = completion.usage;

const stream = await client.chat.completions.create({
  model, messages, temperature: 0.6, top_p: 0.95, max_tokens: 200, stream: true, stream_options: { include_usage: true },
});
let content = '';
let reasoning = '';
let finish = null;
let chunks = 0;
let usage = null;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) usage = chunk.usage;
  const choice = chunk.choices[0];
  if (!choice) continue;
  content += choice.delta.content ?? '';
  reasoning += choice.delta.reasoning_content ?? '';
  if (choice.finish_reason) finish = choice.finish_reason;
}
check('streamed content', content, expectContent);
check('streamed reasoning_content', reasoning, expectReasoning);
check('streamed finish_reason', finish, 'stop');
if (!usage || usage.completion_tokens !== summary.usage.completion_tokens) {
  throw new Error(`streamed usage ${JSON.stringify(usage)} differs from ${JSON.stringify(summary.usage)}`);
}
summary.chunks = chunks;

try {
  await client.chat.completions.create({ model: 'no-such-model', messages });
  throw new Error('an unknown model was accepted');
} catch (error) {
  if (!(error instanceof OpenAI.APIError)) throw error;
  check('unknown model status', error.status, 404);
  summary.unknownModelError = error.error?.code ?? null;
}

try {
  await new OpenAI({ baseURL: env('GLM_BASE_URL'), apiKey: 'wrong-key', maxRetries: 0 }).models.list();
  throw new Error('a wrong API key was accepted');
} catch (error) {
  if (!(error instanceof OpenAI.APIError)) throw error;
  check('wrong key status', error.status, 401);
}

console.log(JSON.stringify({ ok: true, content, reasoning, ...summary }));
