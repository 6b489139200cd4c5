// A small module exercising every definition and import form we extract.
import React, { useState } from "react";
import * as path from 'node:path';
import "./side-effect.css";
export { helper } from "./helpers.js";
export * from "../shared/index.js";
const fs = require("fs");
const lazy = () => import("./lazy.js");

export const MAX_RETRIES = 3;
let counter = 0;
var legacy = {
  key: 1,
  handler() {
    return counter;
  },
};

function topLevel(a, b = 2) {
  function innerHelper() {
    return a + b;
  }
  return innerHelper();
}

const arrow = async (x) => {
  return await fetch(x);
};

export default class Widget extends Base {
  static count = 0;
  label;

  constructor(name) {
    super(name);
    this.name = name;
  }

  render() {
    return path.join(this.name, fs.readFileSync("x"));
  }

  get size() {
    return Widget.count;
  }
}

function* generate() {
  yield 1;
}

module.exports.exported = function () {
  return topLevel(1);
};
