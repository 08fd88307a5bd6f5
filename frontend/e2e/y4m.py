"""Turn a label PNG into a short Y4M clip for Chromium's fake camera
(--use-file-for-fake-video-capture): the label centred on a white 640x480 frame."""

import sys

from PIL import Image

W, H, FRAMES = 640, 480, 5


def main(src: str, dst: str) -> None:
    label = Image.open(src).convert("L")
    label.thumbnail((H - 20, H - 20))
    frame = Image.new("L", (W, H), 255)
    frame.paste(label, ((W - label.width) // 2, (H - label.height) // 2))
    y = frame.tobytes()
    chroma = bytes([128]) * ((W // 2) * (H // 2))
    with open(dst, "wb") as out:
        out.write(f"YUV4MPEG2 W{W} H{H} F5:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(FRAMES):
            out.write(b"FRAME\n" + y + chroma + chroma)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
