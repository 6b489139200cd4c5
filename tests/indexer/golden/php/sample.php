<?php
// A small file exercising every definition and import form we extract.
namespace App\Models;

use App\Contracts\Shape;
use Illuminate\Support\{Collection, Str as Strings};
use function App\Helpers\format_name;
require_once __DIR__ . '/bootstrap.php';
require 'config/app.php';
include_once("lib/util.php");

const APP_VERSION = "1.0";

interface Named
{
    public function name(): string;
}

trait Greets
{
    public function greet(): string
    {
        return "Hello " . $this->name();
    }
}

enum Suit: string
{
    case Hearts = 'H';
}

abstract class Model implements Named
{
    use Greets;

    const TABLE = "models";
    protected array $attributes = [];
    private static ?Model $instance = null;

    public function __construct(array $attributes)
    {
        $this->attributes = $attributes;
    }

    public static function create(array $attributes): static
    {
        return new static(Collection::make($attributes)->all());
    }
}

function helper(string $value): string
{
    return format_name(Strings::upper($value));
}
