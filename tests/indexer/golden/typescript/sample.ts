// A small module exercising every definition and import form we extract.
import { Injectable } from "@angular/core";
import type { Config } from './config';
import * as util from "../util";
import fs = require("fs");
export * from "./reexported";

export const VERSION: string = "1.0";
let mutableCount = 0;

export interface Shape {
  readonly sides: number;
  area(scale?: number): number;
}

export type Point = { x: number; y: number };

export enum Color {
  Red,
  Green,
}

declare function external(name: string): void;

export function compute<T extends Shape>(shape: T,
    scale: number = 1): number {
  const local = (v: number) => v * scale;
  return local(shape.area(scale));
}

export abstract class Base<T> implements Shape {
  sides = 4;
  private cache: Map<string, T> = new Map();

  constructor(private readonly config: Config) {}

  abstract describe(): string;

  area(scale = 1): number {
    return this.sides * scale;
  }
}

namespace Geometry {
  export class Square extends Base<number> {
    describe() {
      return util.format("square");
    }
  }
}

const lazyModule = () => import("./lazy");
