"""What the learner's code says, read from its syntax tree (nothing is run).

The checks judge outcomes first: what history and the travel world show. These facts
only name the cause once an outcome is wrong ("the call on line 41 is not awaited",
"your `except ApplicationError` does not catch activity failures").
"""

from __future__ import annotations

import ast
import functools
import re

ACTIVITY_CALLS = ("execute_activity", "start_activity", "execute_child_workflow")
# Calls that await the coroutines or handles given to them, wherever they nest.
AWAITING_CALLS = ("gather", "wait", "as_completed", "create_task", "ensure_future", "wait_condition")
EXITS = {"sys.exit", "exit", "quit", "os._exit", "os.abort"}
EXIT_ERRORS = {"SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException"}


@functools.lru_cache(maxsize=32)
def parse(source: str) -> ast.Module | None:
    """The syntax tree of ``source`` (None if it does not parse), read once: the checks ask
    about the same workflow.py many times. Callers only read the tree, never change it."""
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


@functools.lru_cache(maxsize=32)
def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    return {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _activity_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ACTIVITY_CALLS


def unawaited_activity_calls(source: str) -> list[int]:
    """Lines where an activity is started and nobody waits for it.

    ``workflow.execute_activity(...)`` without ``await`` makes a coroutine and drops it:
    the activity never runs. A call counts as awaited when it sits under ``await``,
    inside ``asyncio.gather(...)`` and friends, or is assigned to a name that is
    awaited (or gathered) later.
    """
    return [line for line, _ in _unawaited(source, own=False)]


def unawaited_coroutine_calls(source: str) -> list[tuple[int, str]]:
    """(line, name) of every call of an ``async def`` of the module itself (a helper such
    as ``undo_all(...)`` or ``self._run(...)``) whose coroutine nobody awaits: its body
    never runs. Awaited means as in unawaited_activity_calls."""
    return list(_unawaited(source, own=True))


def _callee(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


@functools.lru_cache(maxsize=64)
def _unawaited(source: str, own: bool) -> tuple[tuple[int, str], ...]:
    tree = parse(source)
    if tree is None:
        return ()
    if own:
        mine = {n.name for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef)}

        def wanted(node: ast.AST) -> bool:
            return isinstance(node, ast.Call) and _callee(node) in mine and (
                isinstance(node.func, ast.Name)
                or (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in ("self", "cls"))
            )  # fmt: skip
    else:
        wanted = _activity_call
    parents = _parents(tree)
    waited_names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Await) or (isinstance(node, ast.Call) and _callee(node) in AWAITING_CALLS):
            waited_names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    found = []
    for node in ast.walk(tree):
        if not wanted(node):
            continue
        parent, waited = parents.get(id(node)), False
        while parent is not None and not isinstance(parent, (ast.stmt, ast.Await)):
            if isinstance(parent, ast.Call) and _callee(parent) in AWAITING_CALLS:
                waited = True
            parent = parents.get(id(parent))
        if isinstance(parent, ast.Await) or waited:
            continue
        if isinstance(parent, (ast.Assign, ast.AnnAssign)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if any(isinstance(t, ast.Name) and t.id in waited_names for t in targets):
                continue
        if isinstance(parent, ast.Return):  # handed to the caller, who may await it
            continue
        if isinstance(parent, ast.Expr) and parent.value is not node:
            # e.g. handles.append(workflow.start_activity(...)): waited if the list is
            call = parent.value
            owner = getattr(getattr(call, "func", None), "value", None)
            if isinstance(owner, ast.Name) and owner.id in waited_names:
                continue
        found.append((node.lineno, _callee(node)))
    return tuple(sorted(found))


def activities_named_by_string(source: str, activity_names: list[str]) -> list[tuple[int, str]]:
    """(line, text) of every activity referred to by a string: an activity call whose
    first argument is a string, or an activity's name as a string anywhere in code."""
    tree = parse(source)
    if tree is None:
        return []
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }  # fmt: skip
    found = {}
    for node in ast.walk(tree):
        if _activity_call(node) and node.args and isinstance(node.args[0], ast.Constant):
            if isinstance(node.args[0].value, str):
                found[node.lineno] = node.args[0].value
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value in activity_names and id(node) not in docstrings
        ):  # fmt: skip
            found.setdefault(node.lineno, node.value)
    return sorted(found.items())


def program_exits(source: str) -> list[tuple[int, str]]:
    """(line, what) of every call that ends the program (sys.exit(), exit(), os._exit())
    and every raise of an exception meant for the interpreter (SystemExit,
    KeyboardInterrupt, BaseException): in a saga, they skip the compensations."""
    tree = parse(source)
    if tree is None:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in EXITS:
            found.append((node.lineno, f"{ast.unparse(node.func)}()"))
        elif isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if ast.unparse(raised).split(".")[-1] in EXIT_ERRORS:
                found.append((node.lineno, f"raise {ast.unparse(raised)}"))
    return sorted(found)


def calls_of(source: str | ast.AST, activity: str) -> list[ast.Call]:
    """The activity calls whose first argument names ``activity`` directly."""
    tree = parse(source) if isinstance(source, str) else source
    if tree is None:
        return []
    return [
        node for node in ast.walk(tree)
        if _activity_call(node) and node.args and ast.unparse(node.args[0]).split(".")[-1] == activity
    ]  # fmt: skip


def call_lines(source: str, activity: str) -> list[int]:
    """The lines of workflow.py where ``activity`` is called: by its name, or else
    through a variable (like `undo` in a loop over the compensations)."""
    tree = parse(source)
    if tree is None:
        return []
    direct = [call.lineno for call in calls_of(tree, activity)]
    if direct:
        return sorted(direct)
    imported = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    return sorted(
        node.lineno for node in ast.walk(tree)
        if _activity_call(node) and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id not in imported
    )  # fmt: skip


def handlers_around(source: str, activity: str) -> list[ast.ExceptHandler] | None:
    """The except clauses that guard the call of ``activity``: None when no call names
    it, or when a `with` block around it comes first (a context manager such as 08's
    `async with Saga(...)` handles the failure, not an except clause); [] when a call is
    outside every ``try``."""
    tree = parse(source)
    if tree is None:
        return None
    calls = calls_of(tree, activity)
    if not calls:
        return None
    parents = _parents(tree)
    handlers: list[ast.ExceptHandler] = []
    node = calls[0]
    while id(node) in parents:
        parent = parents[id(node)]
        if isinstance(parent, (ast.With, ast.AsyncWith)) and not handlers:
            return None
        if isinstance(parent, ast.Try) and any(node is stmt for stmt in parent.body):
            handlers += parent.handlers
        node = parent
    return handlers


def catches(handler: ast.ExceptHandler, names: dict, error: type[BaseException]) -> bool:
    """Does this except clause catch ``error``, its names looked up in ``names`` (the
    learner's module)? A name that cannot be looked up counts as yes: never blame code
    we cannot read."""
    if handler.type is None:
        return True
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for kind in kinds:
        try:
            value = eval(compile(ast.Expression(kind), "<except>", "eval"), dict(names))  # names only
        except Exception:
            return True
        if not isinstance(value, type) or issubclass(error, value):
            return True
    return False


def raise_before_undoing(handler: ast.ExceptHandler) -> int | None:
    """The line of a `raise` in this except block that comes before its first activity
    call (the undos), even inside an `if`: for those failures nothing is undone."""
    for stmt in handler.body:
        if any(_activity_call(node) for node in ast.walk(stmt)):
            return None
        raises = [node.lineno for node in ast.walk(stmt) if isinstance(node, ast.Raise)]
        if raises:
            return raises[0]
    return None


FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def learner_frame(stack: str, folder) -> str:
    """'workflow.py, line 53': the innermost frame of a stack trace that is in the
    learner's folder (not the SDK's, not ours), or ''."""
    frames = [(path, line) for path, line in FRAME.findall(stack or "") if path.startswith(f"{folder}/")]
    if not frames:
        return ""
    path, line = frames[-1]
    return f"{path.split('/')[-1]}, line {line}"
