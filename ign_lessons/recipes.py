"""How every shipped file in data/ is made: checkpoints and study results, one recipe each.

`python3 course.py retrain [name ...]` runs them (all by default). A recipe is a function
`recipe(steps_scale=1.0) -> None` registered with @recipe("name"); it trains and writes its file(s)
with checkpoints.save(...) or results.save(...).
"""
RECIPES = {}


def recipe(name):
    """Register a function that regenerates one shipped file."""
    def register(function):
        RECIPES[name] = function
        return function
    return register
