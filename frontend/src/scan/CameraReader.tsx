import jsQR from "jsqr";
import { useEffect, useRef, useState } from "react";

interface Detector {
  detect: (source: CanvasImageSource) => Promise<Array<{ rawValue: string }>>;
}
type DetectorCtor = { new (opts: { formats: string[] }): Detector; getSupportedFormats?: () => Promise<string[]> };

/** Reads QR codes from the camera: BarcodeDetector where the browser has it, jsQR otherwise. */
export function CameraReader({ onScan }: { onScan: (payload: string) => void }) {
  const [on, setOn] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="camera">
      <button type="button" onClick={() => { setError(null); setOn(!on); }} aria-pressed={on}>
        {on ? "Stop camera" : "Scan with the camera"}
      </button>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {on ? <CameraView onScan={onScan} onError={(m) => { setError(m); setOn(false); }} /> : null}
    </div>
  );
}

function CameraView({ onScan, onError }: { onScan: (payload: string) => void; onError: (message: string) => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [status, setStatus] = useState("Starting the camera…");
  const scanRef = useRef(onScan);
  scanRef.current = onScan;
  const errorRef = useRef(onError);
  errorRef.current = onError;

  useEffect(() => {
    let stream: MediaStream | null = null;
    let timer: number | undefined;
    let stopped = false;
    const last = { text: "", at: 0 };
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });

    const fail = (m: string) => errorRef.current(m);
    const start = async () => {
      if (!navigator.mediaDevices?.getUserMedia) {
        fail("This browser cannot use a camera here; use the scanner or type the unit ID.");
        return;
      }
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      } catch (err) {
        const name = (err as DOMException).name;
        fail(name === "NotAllowedError" ? "Camera permission was refused; allow the camera in the browser or use the scanner."
          : name === "NotFoundError" ? "No camera was found; use the scanner or type the unit ID."
          : `The camera could not start (${name}); use the scanner or type the unit ID.`);
        return;
      }
      if (stopped || !video.current) return;
      video.current.srcObject = stream;
      await video.current.play().catch(() => undefined);
      setStatus("Hold the label's QR code in front of the camera.");
      const Ctor = (window as unknown as { BarcodeDetector?: DetectorCtor }).BarcodeDetector;
      let detector: Detector | null = null;
      if (Ctor) {
        const formats = (await Ctor.getSupportedFormats?.().catch(() => [])) ?? [];
        if (formats.includes("qr_code")) detector = new Ctor({ formats: ["qr_code"] });
      }
      const tick = async () => {
        const v = video.current;
        if (stopped || !v || !ctx) return;
        if (v.readyState >= 2 && v.videoWidth) {
          const scale = Math.min(1, 800 / v.videoWidth);
          canvas.width = Math.round(v.videoWidth * scale);
          canvas.height = Math.round(v.videoHeight * scale);
          ctx.drawImage(v, 0, 0, canvas.width, canvas.height);
          let text: string | null = null;
          if (detector) {
            const codes = await detector.detect(canvas).catch(() => []);
            text = codes[0]?.rawValue ?? null;
          } else {
            const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
            text = jsQR(img.data, img.width, img.height, { inversionAttempts: "attemptBoth" })?.data ?? null;
          }
          // One scan per label shown: the same code counts again only after it left the view.
          const now = Date.now();
          if (text) {
            if (text !== last.text || now - last.at > 1500) scanRef.current(text);
            last.text = text;
            last.at = now;
          }
        }
        if (!stopped) timer = window.setTimeout(() => void tick(), 200);
      };
      void tick();
    };
    void start();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      for (const t of stream?.getTracks() ?? []) t.stop();
    };
  }, []);

  return (
    <div className="camera-view">
      <video ref={video} muted playsInline aria-label="Camera preview" />
      <p className="hint" role="status">{status}</p>
    </div>
  );
}
