"""A Hugging Face Space (Gradio SDK) that serves a model trained with mtl_course.

The model comes from `$MTL_COURSE_MODEL` -- a Hub model repository ('user/name', as `push_model` made it) -- or, without it,
from the folder `model/` next to this file (`export_learner(learn, 'model', safe=True)`): weights and config, no pickle.
An image named `example.jpg` (or .png) next to this file opens the page with its prediction.
"""
import os
from pathlib import Path
from mtl_course.share import demo_app, pull_model

here = Path(__file__).parent
model = pull_model(os.environ.get('MTL_COURSE_MODEL') or here/'model')
example = next(iter(sorted(here.glob('example.*'))), None)
demo = demo_app(model, example=example)

if __name__ == '__main__': demo.launch()
