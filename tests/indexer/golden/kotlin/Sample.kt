// A small file exercising every definition and import form we extract.
package com.acme.sample

import kotlin.math.max
import com.acme.util.*
import com.acme.model.Item as ModelItem

const val MAX_ITEMS = 10
val defaultName = "x"

typealias Handler = (String) -> Unit

interface Shape {
    val sides: Int
    fun area(): Double
}

enum class Color { RED, GREEN }

data class Point(val x: Int, val y: Int)

open class Widget(private val name: String) : Shape {
    override val sides: Int = 4
    private var cache: MutableMap<String, Int> = mutableMapOf()

    override fun area(): Double {
        fun square(v: Double) = v * v
        return square(max(1.0, 2.0))
    }

    companion object Factory {
        fun create(name: String): Widget = Widget(name)
    }
}

object Registry {
    fun register(item: ModelItem) {}
}

fun String.shout(): String = uppercase()

fun topLevel(a: Int,
             b: Int = 2): Int {
    return a + b
}
