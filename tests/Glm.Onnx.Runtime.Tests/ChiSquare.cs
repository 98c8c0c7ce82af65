namespace Glm.Onnx.Tests;

/// <summary>
/// Pearson's chi-square goodness-of-fit test against an exact categorical distribution, for the statistical tests of
/// sampling. Cells expecting fewer than 5 draws are pooled into one so the chi-square approximation holds.
/// </summary>
internal static class ChiSquare
{
    /// <summary>
    /// The p-value of observing <paramref name="observed"/> counts from <paramref name="expected"/> probabilities
    /// (same keys; a count on a key of probability 0, or missing from expected, is impossible and gives 0).
    /// </summary>
    public static (double PValue, double Statistic, int DegreesOfFreedom) Test(IReadOnlyDictionary<int, long> observed, IReadOnlyDictionary<int, double> expected)
    {
        long n = observed.Values.Sum();
        foreach (var (key, count) in observed)
            if (count > 0 && expected.GetValueOrDefault(key) <= 0)
                return (0.0, double.PositiveInfinity, 0);
        double statistic = 0, pooledExpected = 0;
        long pooledObserved = 0;
        int cells = 0;
        foreach (var (key, p) in expected)
        {
            if (p <= 0)
                continue;
            double e = p * n;
            long o = observed.GetValueOrDefault(key);
            if (e < 5)
            {
                pooledExpected += e;
                pooledObserved += o;
                continue;
            }
            statistic += (o - e) * (o - e) / e;
            cells++;
        }
        if (pooledExpected > 0)
        {
            statistic += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / pooledExpected;
            cells++;
        }
        int df = cells - 1;
        return (UpperRegularizedGamma(df / 2.0, statistic / 2.0), statistic, df);
    }

    /// <summary>Q(a, x) = Gamma(a, x) / Gamma(a): series for x &lt; a + 1, Lentz's continued fraction beyond.</summary>
    public static double UpperRegularizedGamma(double a, double x)
    {
        if (x <= 0)
            return 1.0;
        double logPrefix = a * Math.Log(x) - x - LogGamma(a);
        if (x < a + 1)
        {
            double term = 1.0 / a, sum = term;
            for (int k = 1; k < 10_000 && Math.Abs(term) > Math.Abs(sum) * 1e-16; k++)
            {
                term *= x / (a + k);
                sum += term;
            }
            return 1.0 - sum * Math.Exp(logPrefix);
        }
        const double Tiny = 1e-300;
        double b = x + 1 - a, c = 1 / Tiny, d = 1 / b, h = d;
        for (int i = 1; i < 10_000; i++)
        {
            double an = -i * (i - a);
            b += 2;
            d = an * d + b;
            if (Math.Abs(d) < Tiny) d = Tiny;
            c = b + an / c;
            if (Math.Abs(c) < Tiny) c = Tiny;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-16)
                break;
        }
        return Math.Exp(logPrefix) * h;
    }

    // Lanczos approximation (g = 7, 9 coefficients), accurate to ~1e-15 for a > 0.
    private static double LogGamma(double a)
    {
        double[] c =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        if (a < 0.5)
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * a))) - LogGamma(1 - a);
        a -= 1;
        double sum = c[0];
        for (int i = 1; i < 9; i++)
            sum += c[i] / (a + i);
        double t = a + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (a + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
