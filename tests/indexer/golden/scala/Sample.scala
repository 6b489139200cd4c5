// A small file exercising every definition and import form we extract.
package com.acme.sample

import scala.collection.mutable
import scala.concurrent._
import java.util.{List, Map => JMap}
import com.acme.util.Helpers.format

trait Shape {
  def area: Double
  val sides: Int
}

case class Point(x: Double, y: Double)

sealed abstract class Widget(name: String) extends Shape {
  val sides = 4
  var cache: mutable.Map[String, Int] = mutable.Map.empty

  def area: Double = {
    def square(v: Double): Double = v * v
    square(sides.toDouble)
  }
}

object Widget {
  val MaxItems = 10
  type Registry = Map[String, Widget]

  def create(name: String): Widget = new Widget(name) {}
}

enum Color:
  case Red, Green

def topLevel(a: Int,
             b: Int = 2): Int = a + b
