"The `mtl-course` command as a user runs it: a fresh process, output to a pipe or a log"
import re, subprocess
from mtl_course.script import anno_parser
from mtl_course.cli import compare_cmd

def test_compare_to_a_pipe_prints_lines_not_bars(tmp_path, mtl_course_cmd):
    "Piped (as in `make demo | tee log`), the main job prints one line per epoch: no carriage-return bar redraws"
    r = subprocess.run([*mtl_course_cmd, 'compare', '--epochs', '2', '--n-synthetic', '200', '--size', '32', '--bs', '32', '--out', str(tmp_path/'out')],
                       capture_output=True, text=True, cwd=tmp_path, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    assert '\r' not in r.stdout and '\r' not in r.stderr and '█' not in r.stdout
    epochs = [l for l in r.stdout.splitlines() if re.match(r'\d+ +\d+\.\d+ ', l)]  # 'epoch train_loss ...' rows
    assert len(epochs) == 5*2, r.stdout  # 3 single-task models + 2 multi-task models (equal, recommended), 2 epochs each
    assert len(r.stdout) < 5000, len(r.stdout)
    assert 'multi-task equal' in r.stdout and 'images_seen' in r.stdout  # three models per task, with the compute each used
    assert (tmp_path/'out'/'comparison.csv').exists()

def test_option_spellings():
    "Underscore and hyphen spellings are the same option, whichever fastcore is installed"
    p = anno_parser(compare_cmd)
    a, b = p.parse_args(['--n_synthetic', '7', '--scratch']), p.parse_args(['--n-synthetic', '7', '--scratch'])
    assert vars(a) == vars(b) and a.n_synthetic == 7 and a.scratch is True

def test_bad_options_fail_at_once_naming_the_option(tmp_path, mtl_course_cmd):
    "A bad value is one line on stderr and exit status 1 before any data is read or model trained — never a run that exits 0 on nonsense"
    ro = tmp_path/'read_only'; ro.mkdir(); ro.chmod(0o500)
    cases = [(['compare', '--lr', 'nan'], '--lr nan'), (['compare', '--lr', '-0.01'], '--lr -0.01'), (['compare', '--epochs', '-1'], '--epochs -1'),
             (['train', '--bs', '0'], '--bs 0'), (['train', '--tasks', 'gender gender'], 'given more than once'),
             (['train', '--n_synthetic', '40', '--size', '32', '--epochs', '1', '--out', str(tmp_path/'o')], 'fewer than the batch size bs=64'),
             (['predict', str(tmp_path/'none.pkl'), str(tmp_path), '--bs', '-1'], '--bs -1')]
    import os
    if os.geteuid() != 0: cases.append((['compare', '--out', str(ro/'out')], 'cannot write there'))
    for args, msg in cases:
        r = subprocess.run([*mtl_course_cmd, *args], capture_output=True, text=True, cwd=tmp_path, timeout=600)
        assert r.returncode == 1 and msg in r.stderr, (args, r.returncode, r.stderr[-1500:])
        assert 'Traceback' not in r.stderr and 'epoch' not in r.stdout, (args, r.stdout[-500:], r.stderr[-1500:])
    ro.chmod(0o700)

def test_unreadable_image_met_while_training_is_one_line(tmp_path, mtl_course_cmd):
    "A truncated JPEG in the data stops `compare` with one line naming the file (not a DataLoader traceback); --verify skips it up front"
    from mtl_course.synthetic import make_synthetic_faces
    faces = make_synthetic_faces(tmp_path/'faces', n=120, size=32, seed=0)
    bad = sorted(faces.glob('*.jpg'))[:5]
    for f in bad: f.write_bytes(f.read_bytes()[:300])  # five truncated JPEGs: at least one lands in the training split
    args = [*mtl_course_cmd, 'compare', '--data', str(faces), '--epochs', '1', '--size', '32', '--bs', '16', '--recipes', 'equal', '--scratch']
    r = subprocess.run([*args, '--out', str(tmp_path/'o1')], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 1, r.stderr[-2000:]
    assert 'Traceback' not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr[-2000:]
    assert 'truncated or corrupt image' in r.stderr and any(f.name in r.stderr for f in bad) and '--verify' in r.stderr, r.stderr
    r = subprocess.run([*args, '--out', str(tmp_path/'o2'), '--verify'], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'skipped 5 of 120 files' in r.stdout and all(f.name in r.stdout for f in bad), r.stdout[:2000]
