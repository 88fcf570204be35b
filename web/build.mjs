// Assembles web/dist from web/src and the npm packages: no bundler, no CDN.
import { cpSync, mkdirSync, rmSync } from "node:fs";

const dist = new URL("./dist/", import.meta.url);
rmSync(dist, { recursive: true, force: true });
mkdirSync(new URL("vendor/", dist), { recursive: true });
cpSync(new URL("./src/", import.meta.url), dist, { recursive: true });
const vendor = {
  "node_modules/d3/dist/d3.min.js": "d3.min.js",
  "node_modules/topojson-client/dist/topojson-client.min.js": "topojson-client.min.js",
  "node_modules/world-atlas/countries-110m.json": "countries-110m.json",
};
for (const [from, to] of Object.entries(vendor))
  cpSync(new URL(from, import.meta.url), new URL(`vendor/${to}`, dist));
console.log("web/dist built");
