// A small file exercising every definition and import form we extract.
using System;
using System.Collections.Generic;
using static System.Math;
using Json = Newtonsoft.Json;

namespace Acme.Sample
{
    public interface IShape
    {
        double Area();
        string Name { get; }
    }

    public enum Color { Red, Green }

    public struct Point
    {
        public double X;
        public double Y;
    }

    public delegate void Handler(string message);

    public record Person(string First, string Last);

    public class Circle : IShape
    {
        public const double Tau = 6.28;
        private readonly double radius;
        public string Name { get; } = "circle";

        public Circle(double radius)
        {
            this.radius = radius;
        }

        public double Area()
        {
            double Square(double v) => v * v;
            return Max(0, PI * Square(radius));
        }

        private class Cache
        {
            internal List<double> Values = new List<double>();
        }
    }
}
