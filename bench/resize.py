"""Pre-resize a folder of face images once, so that decoding 200 px JPEGs does not dominate short benchmark runs.

What produced the 64 px copy of the UTKFace dev faces behind nbs/results/*_utkface_cpu (bilinear, JPEG quality 95, names kept):
  python bench/resize.py /path/to/UTKFace /path/to/UTKFace_64px --max_size 64
It is fastai's `resize_images`; labels stay in the file names, so every loader of the course reads the copy as it reads the original.
"""
from __future__ import annotations
from pathlib import Path
from PIL import Image
from fastai.data.transforms import get_image_files
from fastai.vision.utils import resize_images
from mtl_course.script import call_parse


@call_parse
def main(src:str, # folder of images (searched recursively)
         dest:str, # folder for the resized copies (created; the same file names, flat)
         max_size:int=64, # longest side in pixels
         quality:int=95, # JPEG quality of the copies
        ):
    "Resize every image of `src` so that its longest side is `max_size`, into `dest`, keeping the file names"
    src, dest = Path(src), Path(dest)
    if not src.is_dir(): raise ValueError(f"{src}: not a folder of images")
    files = get_image_files(src)  # fastai's: every image file below `src`
    if not files: raise ValueError(f"{src}: no image files found")
    names = [f.name for f in files]
    if len(set(names)) < len(names): raise ValueError(f"{src}: the same file name in two sub-folders; the flat copy would lose one")
    dest.mkdir(parents=True, exist_ok=True)
    for folder in sorted({f.parent for f in files}):
        resize_images(folder, dest=dest, max_size=max_size, recurse=False, resample=Image.BILINEAR, quality=quality)
    print(f"resized {len(files)} images from {src} to {dest} (longest side {max_size} px)")
