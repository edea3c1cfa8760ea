// Reference STRICT validation verdicts from Rust Cedar (@cedar-policy/cedar-wasm) for Gatehouse's
// differential test: reads {schema, policies} from the file named by argv[2] and prints, per
// policy id, whether Cedar reports validation errors (warnings do not count).
import { readFileSync } from "node:fs";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";

const { schema, policies } = JSON.parse(readFileSync(process.argv[2], "utf8"));
const verdicts = {};
for (const [id, text] of Object.entries(policies)) {
  const r = cedar.validate({ schema, policies: { staticPolicies: { [id]: text } }, validationSettings: { mode: "strict" } });
  if (r.type !== "success") throw new Error(`${id}: ${JSON.stringify(r.errors)}`);
  verdicts[id] = r.validationErrors.map((e) => e.error.message);
}
process.stdout.write(JSON.stringify(verdicts));
