using System.Collections.Generic;
using Dsl.Generator.Model;

namespace Dsl.Generator;

/// <summary>
/// Every identifier the generated code derives from a network or a layer: members, kernel classes, slot
/// constants, locals. The emitters spell names only through here, and the parser's clash check (DSL0008) asks
/// the same lists, so the two cannot drift apart.
/// </summary>
internal static class Names
{
    /// <summary>Members every generated network has.</summary>
    private static readonly HashSet<string> s_networkMembers = new()
    {
        "InputSize", "OutputSize", "ParameterCount", "ParameterBufferSize", "Parameters", "Summary", "Forward", "ForwardOne",
        "ForwardBlock", "ForwardTrain", "Backward", "CreateWorkspace", "CheckWorkspace", "WorkspaceFloatsPerSample",
        "WorkspaceSharedFloats", "InputSlot", "GradientSlotA", "GradientSlotB", "ResidualCount", "ResidualName", "ResidualOutput", "Steps",
        "ResidualOutputGradient", "MixtureCount", "Mixture", "AuxiliaryLoss", "CreateTensors", "Pretrained", "CompiledValues", "CompiledBuffers",
        "PackPanels",
    };

    /// <summary>Whether every generated network has a member called <paramref name="name"/>.</summary>
    public static bool IsNetworkMember(string name) => s_networkMembers.Contains(name);

    /// <summary>Members derived from a top-level layer's name by appending these.</summary>
    private static readonly string[] s_memberSuffixes = { "Kernels", "OutputSlot", "PreActivationSlot", "StatisticsSlot" };

    /// <summary>The generated member a top-level layer called <paramref name="layerName"/> would clash with, or null.</summary>
    public static string? NetworkMemberClash(string layerName, System.Func<string, bool> typeDeclares)
    {
        if (s_networkMembers.Contains(layerName)) return layerName;
        foreach (string suffix in s_memberSuffixes)
            if (typeDeclares(layerName + suffix) || s_networkMembers.Contains(layerName + suffix))
                return layerName + suffix;
        return null;
    }

    /// <summary>The static class holding a layer's offsets and kernels.</summary>
    public static string KernelClass(LayerSpec layer) => layer.MemberName + "Kernels";

    public static string Field(string memberName) => "_" + SourceWriter.Camel(memberName);

    /// <summary>A declared member's name as an identifier: a property called <c>@class</c> is named "class" by Roslyn.</summary>
    public static string Member(string memberName) =>
        Microsoft.CodeAnalysis.CSharp.SyntaxFacts.GetKeywordKind(memberName) != Microsoft.CodeAnalysis.CSharp.SyntaxKind.None ? "@" + memberName : memberName;

    public static string OutputSlot(LayerSpec layer) => layer.MemberName + "OutputSlot";

    public static string PreActivationSlot(LayerSpec layer) => layer.MemberName + "PreActivationSlot";

    public static string StatisticsSlot(LayerSpec layer) => layer.MemberName + "StatisticsSlot";

    /// <summary>A layer's per-sample workspace slot constant: fc1 + Mean → fc1MeanSlot.</summary>
    public static string Slot(LayerSpec layer, Slot role) => layer.MemberName + role + "Slot";

    /// <summary>The constant naming a tensor's offset: weight → WeightOffset, out_proj.weight → OutProjWeightOffset.</summary>
    public static string Offset(string role)
    {
        var builder = new System.Text.StringBuilder();
        foreach (string word in role.Split('_', '.'))
            if (word.Length > 0) builder.Append(char.ToUpperInvariant(word[0])).Append(word.Substring(1));
        return builder + "Offset";
    }

    // Parameters and locals of the methods that also hold per-layer locals: a layer called 'Input' or 'X' must not shadow them.
    private static readonly HashSet<string> s_reservedLocals = new()
    {
        "input", "output", "batch", "workspace", "outputGradient", "inputGradient", "x", "y", "p", "s", "g", "grads", "gradients", "scratch",
        "buffers", "cols", "pixels", "columnGradient", "padded", "transposed", "xs", "ys", "dys", "dxs", "attention",
        "copy", "products", "productScale", "updateWeights", "learningRate",
    };

    /// <summary>The locals of the <paramref name="loop"/>-th loop over a repeat's copies: copy0Input, copy0Gradient, ...</summary>
    public static string LoopLocal(int loop, string role) => "copy" + SourceWriter.Int(loop) + role;

    // Loop locals are 'copy', digits, then a role: a layer whose local would read like one is renamed.
    private static bool IsLoopLocal(string name)
    {
        if (!name.StartsWith("copy", System.StringComparison.Ordinal)) return false;
        int i = 4;
        while (i < name.Length && char.IsDigit(name[i])) i++;
        return i > 4;
    }

    /// <summary>Suffixes of the per-layer locals the emitted methods declare besides the layer's own.</summary>
    private static readonly string[] s_localSuffixes =
    {
        "Pre", "Folded", "Statistics", "Qkv", "Probabilities", "Mixed", "MixedGradient", "QkvGradient", "Gate", "GateGradient", "SkipGradient",
    };

    // Locals are named after the layer; '@' only where the name is a keyword (a layer called 'Event'),
    // a 'Layer' suffix where it would collide with one of the generated names above.
    public static string Local(LayerSpec layer) => Local(layer.MemberName);

    public static string Local(string memberName)
    {
        string name = SourceWriter.Camel(memberName);
        return s_reservedLocals.Contains(name) || IsLoopLocal(name) ? name + "Layer" : Member(name);
    }

    /// <summary>Every local the emitted methods derive from a layer's name; two layers must not share one.</summary>
    public static IEnumerable<string> DerivedLocals(string memberName)
    {
        string local = Local(memberName);
        yield return local;
        foreach (string suffix in s_localSuffixes) yield return local + suffix;
        yield return GradientLocal(memberName);
    }

    /// <summary>dL/d(layer output): 'd' and the layer's local in PascalCase (dFc1).</summary>
    public static string GradientLocal(string memberName)
    {
        string local = Local(memberName).TrimStart('@');
        return "d" + char.ToUpperInvariant(local[0]) + local.Substring(1);
    }
}
