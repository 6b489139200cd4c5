// A small file exercising every definition and import form we extract.
import Foundation
import struct Collections.Deque
@testable import AcmeCore

let maxItems = 10
var counter = 0

typealias Handler = (String) -> Void

protocol Shape {
    var sides: Int { get }
    func area() -> Double
}

enum Color {
    case red, green
}

struct Point {
    var x: Double
    var y: Double

    func norm() -> Double {
        return (x * x + y * y).squareRoot()
    }
}

class Widget: Shape {
    let name: String
    var sides: Int { 4 }

    init(name: String) {
        self.name = name
    }

    func area() -> Double {
        func square(_ v: Double) -> Double { v * v }
        return square(Double(sides))
    }
}

extension Widget {
    func describe() -> String {
        return "Widget(\(name))"
    }
}

func topLevel(_ a: Int,
              b: Int = 2) -> Int {
    return a + b
}
