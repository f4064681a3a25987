/**
 * Speaking indicators: a mediasoup AudioLevelObserver on the room's router, reporting the
 * loudest audio producers by participant every 300 ms (and an empty list on silence).
 * Owned by its Room; reports by events. Closes with the router.
 */
import { EventEmitter } from 'node:events';
import type { types as ms } from 'mediasoup';

export interface AudioLevelsEvents {
  /** The participants speaking now, loudest first; `volume` in dBov (-127..0). */
  levels: [levels: { peerId: string; volume: number }[]];
}

export class AudioLevels extends EventEmitter<AudioLevelsEvents> {
  readonly #observer: ms.AudioLevelObserver;
  readonly #owners = new Map<string, string>();

  private constructor(observer: ms.AudioLevelObserver) {
    super();
    this.#observer = observer;
    observer.on('volumes', (volumes) => {
      const levels = volumes.flatMap((v) => {
        const peerId = this.#owners.get(v.producer.id);
        return peerId ? [{ peerId, volume: v.volume }] : [];
      });
      this.emit('levels', levels);
    });
    observer.on('silence', () => this.emit('levels', []));
  }

  /** Creates the observer on `router` (threshold -70 dBov, every 300 ms). */
  static async create(router: ms.Router): Promise<AudioLevels> {
    return new AudioLevels(await router.createAudioLevelObserver({ maxEntries: 8, threshold: -70, interval: 300 }));
  }

  /** Watches an audio producer of participant `peerId`; forgotten when it closes. */
  add(producer: ms.Producer, peerId: string): void {
    this.#owners.set(producer.id, peerId);
    producer.observer.on('close', () => this.#owners.delete(producer.id));
    this.#observer.addProducer({ producerId: producer.id }).catch(() => undefined);
  }
}
