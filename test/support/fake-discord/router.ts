import type { Route } from './context.js';

interface CompiledRoute {
  route: Route;
  segments: string[];
}

/** Matches `/channels/:channel_id/messages` style templates against decoded path segments. */
export class Router {
  private readonly compiled: CompiledRoute[] = [];

  add(routes: Route[]): void {
    for (const route of routes)
      this.compiled.push({ route, segments: route.template.split('/').filter(Boolean) });
  }

  match(
    method: string,
    path: string,
  ): { route: Route; params: Record<string, string> } | { methodNotAllowed: true } | null {
    const parts = path
      .split('/')
      .filter(Boolean)
      .map((p) => safeDecode(p));
    let pathMatched = false;
    for (const c of this.compiled) {
      if (c.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let matched = true;
      for (const [i, seg] of c.segments.entries()) {
        const part = parts[i] ?? '';
        if (seg.startsWith(':')) params[seg.slice(1)] = part;
        else if (seg !== part) {
          matched = false;
          break;
        }
      }
      if (!matched) continue;
      pathMatched = true;
      if (c.route.method === method) return { route: c.route, params };
    }
    return pathMatched ? { methodNotAllowed: true } : null;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
