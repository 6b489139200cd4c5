//! A small crate module exercising every definition and import form we extract.
use std::collections::HashMap;
use std::io::{self, Read, Write as W};
use crate::model::{Item, store::{Store, Cache}};
use super::*;
extern crate serde;

mod parser;
pub mod inline {
    pub fn helper() -> u32 {
        1
    }
}

pub const MAX: usize = 16;
static mut COUNTER: u32 = 0;

pub type Map = HashMap<String, Item>;

#[derive(Debug)]
pub struct Point<T> {
    pub x: T,
    y: T,
}

pub enum Shape {
    Circle(f64),
    Square { side: f64 },
}

pub trait Area {
    fn area(&self) -> f64;
    fn describe(&self) -> String {
        format!("{}", self.area())
    }
}

impl<T: Copy> Point<T> {
    pub fn new(x: T, y: T) -> Self {
        Point { x, y }
    }
}

impl Area for Shape {
    fn area(&self) -> f64 {
        match self {
            Shape::Circle(r) => 3.14 * r * r,
            Shape::Square { side } => side * side,
        }
    }
}

macro_rules! square {
    ($x:expr) => {
        $x * $x
    };
}

fn main() -> io::Result<()> {
    fn local_helper() {}
    let mut buf = String::new();
    io::stdin().read_to_string(&mut buf)?;
    Ok(())
}
