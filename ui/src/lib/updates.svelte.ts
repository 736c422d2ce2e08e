import type { UpdateLink, UpdateNotice } from "../bindings";
import type { Backend } from "./backend";

const DISMISSED = "baton.update.dismissed";

/** What a package format's download is called on its button. */
const FORMAT_NAMES: Record<string, string> = {
  deb: ".deb",
  rpm: ".rpm",
  appimage: "AppImage",
  msi: "Windows installer (.msi)",
  nsis: "Windows installer (.exe)",
  dmg: "macOS disk image",
};

/** A newer desktop release the server announces (the shell checks at start
 * and daily and sends what it finds); the rep may hide it until the next. */
export class Updates {
  notice = $state<UpdateNotice | null>(null);
  dismissed = $state<string | null>(localStorage.getItem(DISMISSED));
  error = $state<string | null>(null);
  private backend: Backend;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  async start(): Promise<() => void> {
    const stop = await this.backend.onUpdate((n) => (this.notice = n));
    try {
      this.notice = (await this.backend.updateNotice()) ?? this.notice;
    } catch {
      // An old shell without the command: no notice, nothing broken.
    }
    return stop;
  }

  /** The notice to show, unless the rep hid this version. */
  get shown(): UpdateNotice | null {
    return this.notice && this.notice.version !== this.dismissed ? this.notice : null;
  }

  downloadLabel(n: UpdateNotice): string {
    return `Download ${n.format ? (FORMAT_NAMES[n.format] ?? n.format) : ""}`.trim();
  }

  async open(link: UpdateLink): Promise<void> {
    this.error = null;
    try {
      await this.backend.openUpdate(link);
    } catch (e) {
      this.error = e && typeof e === "object" && "message" in e ? String((e as { message: unknown }).message) : String(e);
    }
  }

  dismiss(): void {
    if (!this.notice) return;
    this.dismissed = this.notice.version;
    localStorage.setItem(DISMISSED, this.notice.version);
  }
}
