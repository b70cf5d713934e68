// Audio level meters (Web Audio AnalyserNode, RMS of the waveform, 0..1) for the microphone and
// the speaker, and the sandbox's speaker source: the scripted line's audio when the back end has
// it, otherwise a generated speech-like signal that only feeds the meter (never the speakers), so
// the meter moves when the simulated customer talks and is labelled as simulated.

export type LevelListener = (level: number) => void;

let context: AudioContext | null = null;

/** The page's one AudioContext, created (or resumed) on a user gesture. */
export function audioContext(): AudioContext {
  if (!context) context = new AudioContext();
  if (context.state === "suspended") void context.resume();
  return context;
}

/** Calls `listener` about 20 times a second with the RMS level of what flows into `analyser`. */
function watchLevel(analyser: AnalyserNode, listener: LevelListener): () => void {
  const samples = new Float32Array(analyser.fftSize);
  let stopped = false;
  const timer = setInterval(() => {
    if (stopped) return;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    // RMS of speech is around 0.05-0.2; the square root spreads it over the bar.
    listener(Math.min(1, Math.sqrt(Math.sqrt(sum / samples.length)) * 1.4));
  }, 50);
  return () => {
    stopped = true;
    clearInterval(timer);
    listener(0);
  };
}

/** The microphone's level; `deviceId` null = the default microphone. */
export class MicrophoneMeter {
  private stream: MediaStream | null = null;
  private stopWatching: (() => void) | null = null;

  constructor(private readonly listener: LevelListener) {}

  async start(deviceId: string | null): Promise<void> {
    this.stop();
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: deviceId ? { deviceId: { exact: deviceId } } : true,
    });
    this.stream = stream;
    const ctx = audioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    ctx.createMediaStreamSource(stream).connect(analyser);
    this.stopWatching = watchLevel(analyser, this.listener);
  }

  get running(): boolean {
    return this.stream !== null;
  }

  stop(): void {
    this.stopWatching?.();
    this.stopWatching = null;
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
  }
}

/** What the speaker meter is showing. */
export type SpeakerSource = "scripted" | "simulated" | "twilio";

/** The speaker's level in the sandbox: scripted audio, played, or a simulated signal, metered. */
export class SandboxSpeaker {
  private analyser: AnalyserNode | null = null;
  private stopWatching: (() => void) | null = null;
  private playing: AudioScheduledSourceNode[] = [];

  constructor(private readonly listener: LevelListener,
              private readonly onSource: (source: SpeakerSource) => void) {}

  private meter(): AnalyserNode {
    if (!this.analyser) {
      const ctx = audioContext();
      this.analyser = ctx.createAnalyser();
      this.analyser.fftSize = 1024;
      this.stopWatching = watchLevel(this.analyser, this.listener);
    }
    return this.analyser;
  }

  /** Plays an audio file (a scripted line) through the speakers and the meter. */
  async playUrl(url: string): Promise<void> {
    const element = new Audio(url);
    element.crossOrigin = "anonymous";
    const ctx = audioContext();
    const source = ctx.createMediaElementSource(element);
    source.connect(this.meter());
    source.connect(ctx.destination);
    this.onSource("scripted");
    await element.play();
  }

  /**
   * A speech-like signal for `text` (about 65 ms a character, at most 5 s): a voiced tone whose
   * loudness follows syllables. It goes to the meter only: nothing is heard.
   */
  simulate(text: string): void {
    const ctx = audioContext();
    const seconds = Math.min(5, Math.max(0.6, text.length * 0.065));
    const now = ctx.currentTime;
    const voice = ctx.createOscillator();
    voice.type = "sawtooth";
    voice.frequency.setValueAtTime(140, now);
    const envelope = ctx.createGain();
    envelope.gain.setValueAtTime(0, now);
    for (let t = 0; t < seconds; t += 0.18) {
      envelope.gain.linearRampToValueAtTime(0.25 + 0.2 * Math.sin(t * 7), now + t + 0.06);
      envelope.gain.linearRampToValueAtTime(0.04, now + t + 0.16);
    }
    envelope.gain.linearRampToValueAtTime(0, now + seconds);
    voice.connect(envelope).connect(this.meter());
    voice.start(now);
    voice.stop(now + seconds + 0.05);
    this.playing.push(voice);
    voice.onended = () => {
      this.playing = this.playing.filter((node) => node !== voice);
    };
    this.onSource("simulated");
  }

  stop(): void {
    for (const node of this.playing) node.stop();
    this.playing = [];
    this.stopWatching?.();
    this.stopWatching = null;
    this.analyser = null;
  }
}
