"""The classroom: exercises, checking a design against one, grading a class, and building exercises.

- `engine.classroom.exercise`: the exercise file format (criteria checked on load, written back);
- `engine.classroom.matching`: which layers a layer criterion counts (wrappers and their inner layers);
- `engine.classroom.checker`: one sentence per criterion for one design;
- `engine.classroom.submissions`: the submissions in an LMS export (Moodle, Canvas, Gradescope, flat);
- `engine.classroom.grading`: a class graded, trained in worker processes;
- `engine.classroom.reports`: the CSV, Gradescope ``results.json`` and Markdown feedback;
- `engine.classroom.validation`: ``validate``, with known-wrong designs and generated mutants;
- `engine.classroom.mutants`: typical student mistakes derived from a reference solution;
- `engine.classroom.authoring`: an exercise built from a design (the editor's authoring view).

Nothing here imports Qt; TensorFlow only inside the functions that train.
"""
