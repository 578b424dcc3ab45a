// Minimal flag parser shared by every subcommand: `-x VALUE`, `--long VALUE`, `--long=VALUE`, positionals.
// Any mistake is a UsageException, which the CLI prints as one `error:` line with exit code 2.
using System.Globalization;

namespace LlamaAot.Cli;

public sealed class UsageException(string message) : LlamaAotException(message);

internal sealed class ArgReader
{
    private readonly string[] _args;
    private int _i;
    private string? _inlineValue;

    public ArgReader(string[] args, int start = 0)
    {
        _args = args;
        _i = start;
    }

    public List<string> Positionals { get; } = [];

    /// <summary>Advances to the next flag; positionals are collected on the way. Returns null at the end.</summary>
    public string? NextFlag()
    {
        _inlineValue = null;
        while (_i < _args.Length)
        {
            string a = _args[_i++];
            if (a.Length > 1 && a[0] == '-' && !IsNumber(a))
            {
                int eq = a.IndexOf('=', StringComparison.Ordinal);
                if (a.StartsWith("--", StringComparison.Ordinal) && eq > 2)
                {
                    _inlineValue = a[(eq + 1)..];
                    return a[..eq];
                }
                return a;
            }
            Positionals.Add(a);
        }
        return null;
    }

    private static bool IsNumber(string a) => double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    public string Value(string flag)
    {
        if (_inlineValue is { } v)
        {
            _inlineValue = null;
            return v;
        }
        if (_i >= _args.Length) throw new UsageException($"flag {flag} needs a value");
        return _args[_i++];
    }

    public int Int(string flag, int min = int.MinValue, int max = int.MaxValue)
    {
        string v = Value(flag);
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)) throw new UsageException($"flag {flag}: '{v}' is not an integer");
        if (n < min || n > max) throw new UsageException($"flag {flag}: {n} is out of range [{min}, {max}]");
        return n;
    }

    public float Float(string flag, float min = float.MinValue, float max = float.MaxValue)
    {
        string v = Value(flag);
        if (!float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out float f) || !float.IsFinite(f))
        {
            throw new UsageException($"flag {flag}: '{v}' is not a number");
        }
        if (f < min || f > max) throw new UsageException($"flag {flag}: {v} is out of range [{min}, {max}]");
        return f;
    }

    public ulong ULong(string flag)
    {
        string v = Value(flag);
        if (ulong.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong n)) return n;
        if (long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long s) && s == -1) return ulong.MaxValue;
        throw new UsageException($"flag {flag}: '{v}' is not a non-negative integer");
    }

    public static UsageException Unknown(string flag, string command) =>
        new($"unknown flag '{flag}' for {command} (see --help)");
}
