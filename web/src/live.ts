// The platform's /ws JSON protocol: authenticate, subscribe, and hand each data message
// (frames carry arrays of them) to the page. Reconnects after a drop.

import type { ApiKey } from "./api";

export type LiveMessage =
  | { type: "trade"; symbol: string; price: string; ts: string }
  | { type: "order"; event: string; order: Record<string, unknown> }
  | { type: "alert"; event: string; alert: Record<string, unknown> };

export class LiveFeed {
  private socket: WebSocket | null = null;
  private closed = false;

  constructor(
    private readonly key: ApiKey,
    private readonly symbols: () => string[],
    private readonly onMessage: (m: LiveMessage) => void,
    private readonly onState: (state: string) => void,
  ) {}

  open(): void {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ action: "auth", key_id: this.key.keyId, secret: this.key.secret }));
    socket.onmessage = (event) => {
      const data = JSON.parse(String(event.data)) as unknown;
      if (Array.isArray(data)) {
        for (const m of data as LiveMessage[]) this.onMessage(m);
        return;
      }
      const reply = data as { type: string; message?: string };
      if (reply.type === "authenticated") {
        this.subscribe();
        this.onState("live");
      } else if (reply.type === "error") {
        this.onState(`error: ${reply.message ?? ""}`);
      }
    };
    socket.onclose = () => {
      this.onState("disconnected");
      if (!this.closed) setTimeout(() => this.open(), 2000);
    };
  }

  subscribe(): void {
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ action: "subscribe", trades: this.symbols(), orders: true, alerts: true }));
    }
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
  }
}
