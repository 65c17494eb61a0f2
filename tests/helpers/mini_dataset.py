"""A FashionFail-like mini dataset on the local file server: an annotation file and generated JPEGs.

Images are listed with `original_url` `<server>/images/<name>` and served where the Cloudinary
rewrite points (`/images/f_jpg,q_auto,fl_lossy,c_fill,g_auto/<name>`), so a fetch that skipped the
rewrite would get 404s. Besides the good ones: `broken.jpg` is not served (404) and `wrong.jpg` is
served at 50x50 while the annotation says 64x48.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

from PIL import Image

from tui import paths

DELIVERY = "/images/f_jpg,q_auto,fl_lossy,c_fill,g_auto/"
GOOD = {"a.jpg": (64, 48), "b.jpg": (40, 30), "c.jpg": (33, 21)}


def jpeg(size: tuple[int, int], seed: int = 0) -> bytes:
    width, height = size
    image = Image.new("RGB", size)
    image.putdata([((x * 7 + seed * 40) % 256, (y * 11) % 256, (x * y + seed) % 256)
                   for y in range(height) for x in range(width)])
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def entry(index: int, name: str, url: str, size: tuple[int, int]) -> dict:
    return {"id": index + 1, "file_name": name, "original_url": url, "width": size[0], "height": size[1]}


@dataclass
class MiniDataset:
    server: object
    split: str
    entries: list[dict] = field(default_factory=list)

    @property
    def images(self) -> list[str]:
        return [e["file_name"] for e in self.entries]

    def requests_for(self, name: str) -> int:
        return len(self.server.requests_for(DELIVERY + name))

    def publish(self) -> None:
        """Serve the annotation file as the entries are now."""
        annotation = {"info": {"description": "mini FashionFail"}, "images": self.entries,
                      "annotations": [], "categories": [{"id": 0, "name": "shirt, blouse"}]}
        self.server.serve(f"/ff/ff_{self.split}.json", json.dumps(annotation).encode())


def serve_mini_dataset(server, split: str = "test", good: dict = GOOD, delay: float = 0.0) -> MiniDataset:
    """Serve the mini dataset and point [dataset] annotations_url at it."""
    dataset = MiniDataset(server, split)
    for index, (name, size) in enumerate(good.items()):
        server.serve(DELIVERY + name, jpeg(size, index), delay=delay)
        dataset.entries.append(entry(index, name, server.url("/images/" + name), size))
    dataset.entries.append(entry(len(dataset.entries), "broken.jpg", server.url("/images/broken.jpg"), (64, 48)))
    server.serve(DELIVERY + "wrong.jpg", jpeg((50, 50)))
    dataset.entries.append(entry(len(dataset.entries), "wrong.jpg", server.url("/images/wrong.jpg"), (64, 48)))
    dataset.publish()
    paths.config_file().write_text(f'[dataset]\nannotations_url = "{server.url("/ff/")}"\n')
    return dataset
