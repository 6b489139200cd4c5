"""A small module exercising every definition and import form we extract."""

import os
import os.path as osp, sys
from collections import OrderedDict, defaultdict as dd
from ..pkg import helper
from . import sibling
from .sub.mod import thing
from typing import *

MAX_SIZE = 10
default_name: str = "x"
first, second = 1, 2
type Alias = dict[str, int]


def top(a: int, b: str = "b") -> int:  # a trailing comment
    """Docstring."""


    def inner():
        return helper(a)

    return inner()


@decorator
class Model(Base):
    """A class."""

    limit: int = 3
    KIND = "model"

    def __init__(self, name):
        self.name = name

    @property
    def title(self) -> str:
        return self.name.title()

    class Meta:
        ordering = ["name"]

        def nested_method(self):
            return OrderedDict()


async def fetch(url):
    import json
    return json.loads(await get(url))
