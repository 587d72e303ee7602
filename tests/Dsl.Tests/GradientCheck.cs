using System;
using System.Collections.Generic;
using System.Linq;
using Dsl;

namespace Dsl.Tests;

/// <summary>
/// Central finite differences of the generated forward against the generated backward, for the loss
/// L = sum(dy * y) over a small batch (plus the auxiliary losses, in training): a check that needs no reference implementation at all.
/// </summary>
internal static class GradientCheck
{
    /// <param name="useTrainingForward">Differentiate <see cref="INetwork.ForwardTrain"/> (batch statistics) rather than inference.</param>
    /// <param name="h">Step: 1e-2 keeps float rounding small; networks with thousands of ReLU and max-pool kinks need 1e-3 so few lie within a step.</param>
    /// <param name="halfStep">Also take steps of h/2 and skip a check whose central differences at h and h/2 disagree: a kink
    /// (a routing switch of a mixture of experts) within h that bends both one-sided slopes alike.</param>
    /// <param name="skippable">The fraction of checks that may be skipped as non-differentiable.</param>
    public static void Run(INetwork net, string name, int batch, int seed, bool useTrainingForward, float h = 1e-2f, bool halfStep = false, double skippable = 0.05)
    {
        float[] input = DenseNumericTests.RandomInputs(batch * net.InputSize, seed);
        float[] outputGradient = DenseNumericTests.RandomInputs(batch * net.OutputSize, seed + 1);
        var output = new float[batch * net.OutputSize];
        var inputGradient = new float[batch * net.InputSize];
        Workspace workspace = net.CreateWorkspace(batch);
        // Every training forward below keys its dropout masks on this one step, as the backward's did.
        long step = workspace.Step;
        net.Parameters.ZeroGradients();
        net.ForwardTrain(input, output, batch, workspace);
        net.Backward(outputGradient, inputGradient, batch, workspace);

        double Loss()
        {
            if (useTrainingForward)
            {
                workspace.Step = step;
                net.ForwardTrain(input, output, batch, workspace);
            }
            else net.Forward(input, output, batch);
            // The training loss includes the network's auxiliary losses (mixture balancing), whose gradients Backward adds.
            double sum = useTrainingForward ? net.AuxiliaryLoss(workspace) : 0;
            for (int i = 0; i < output.Length; i++) sum += (double)outputGradient[i] * output[i];
            return sum;
        }

        float[] gradients = net.Parameters.Gradients.ToArray();
        var parameterIndices = new List<int>();
        foreach (TensorInfo t in net.Parameters.Tensors)
            if (t.Kind == TensorKind.Parameter)
                for (int k = 0; k < t.Length; k++) parameterIndices.Add(t.Offset + k);
        // A deterministic subset of 400 keeps the large networks fast; the small ones are mostly covered.
        int[] chosen = LayerReference.Positions(parameterIndices.Count, 400, seed + 2).Select(i => parameterIndices[i]).ToArray();

        var checks = new List<(string What, double Numeric, double Analytic)>();
        int skipped = 0;
        foreach (int index in chosen)
            Check(() => net.Parameters.Values[index], v => net.Parameters.Values[index] = v, gradients[index], $"parameter {index}");
        for (int i = 0; i < Math.Min(input.Length, 100); i++)
            Check(() => input[i], v => input[i] = v, inputGradient[i], $"input {i}");

        Assert.True(checks.Count >= Math.Min(chosen.Length, 50), $"{name}: only {checks.Count} checks");
        Assert.True(skipped <= (int)((chosen.Length + 100) * skippable) + 1, $"{name}: {skipped} checks hit a non-differentiable point");
        foreach ((string what, double numeric, double analytic) in checks)
        {
            // Central differences in float: truncation O(h^2) <= 1e-5, rounding ~1e-6 / h <= 1e-3; 2e-3 absolute plus
            // 2% relative is above both and far below any real error (a wrong term is O(|gradient|)).
            double tolerance = 2e-3 + 2e-2 * Math.Abs(analytic);
            Assert.True(Math.Abs(numeric - analytic) <= tolerance, $"{name} {what}: finite difference {numeric:G6}, backward {analytic:G6}");
        }

        void Check(Func<float> get, Action<float> set, double analytic, string what)
        {
            float x0 = get();
            double centre = Loss();
            set(x0 + h); double plus = Loss();
            set(x0 - h); double minus = Loss();
            set(x0);
            double forward = (plus - centre) / h, backward = (centre - minus) / h;
            // One-sided slopes that disagree mean a kink (ReLU, a max-pool switch) lies within h: no derivative there.
            if (Math.Abs(forward - backward) > 0.05 * (Math.Abs(forward) + Math.Abs(backward)) + 5e-3)
            {
                skipped++;
                return;
            }
            double central = (plus - minus) / (2 * h);
            if (halfStep)
            {
                set(x0 + h / 2); double halfPlus = Loss();
                set(x0 - h / 2); double halfMinus = Loss();
                set(x0);
                if (Math.Abs((halfPlus - halfMinus) / h - central) > 0.01 * Math.Abs(central) + 1e-3)
                {
                    skipped++;
                    return;
                }
            }
            checks.Add((what, central, analytic));
        }
    }
}
