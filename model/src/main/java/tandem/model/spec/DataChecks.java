package tandem.model.spec;

import java.util.List;
import tandem.api.v1.TaskSpec;
import tandem.model.data.ClassField;
import tandem.model.data.DataSet;
import tandem.model.data.IdField;
import tandem.model.module.Module;

/**
 * Row-level checks of a task's data against its path, run on training and evaluation data: every
 * route value has a branch, and every id fits the vocabulary of the module that reads it. Errors
 * name the spec field and the first offending row. Stateless.
 */
final class DataChecks {

  private DataChecks() {}

  static void checkData(TaskSpec spec, String taskPath, DataSet data, List<PathStep> steps,
      List<OutputGraph> outputs, String which) throws InvalidSpecException {
    for (int k = 0; k < steps.size(); k++) {
      PathStep step = steps.get(k);
      String stepPath = spec.getStepsCount() > 0 ? taskPath + ".steps[" + k + "]"
          : taskPath + ".path[" + k + "]";
      if (step instanceof PathStep.Route route) {
        ClassField field = (ClassField) data.field(route.field());
        for (int row = 0; row < field.rows(); row++) {
          int value = field.ids()[row];
          if (value >= route.branches().size()) {
            throw new InvalidSpecException(stepPath + ".route.field", which + " row " + row
                + ": route field '" + route.field() + "' holds " + value + ", but there is no "
                + "module for it: the route has branches 0-" + (route.branches().size() - 1));
          }
        }
      }
      for (Branch branch : step.branches()) {
        Module first = branch.modules().get(0);
        String input = branch.readsField() ? branch.input() : k == 0 ? spec.getInput() : null;
        if (first.readsIds() && input != null) {
          checkIds(first, input, (IdField) data.field(input), stepPath, which);
        }
      }
    }
  }

  private static void checkIds(Module module, String fieldName, IdField field, String stepPath,
      String which) throws InvalidSpecException {
    int width = field.width();
    for (int row = 0; row < field.rows(); row++) {
      for (int column = 0; column < width; column++) {
        int id = field.ids()[row * width + column];
        int vocabulary = TaskSpecs.vocabularyOf(module, column);
        if (id >= vocabulary) {
          throw new InvalidSpecException(stepPath, "id beyond the vocabulary: " + which + " row "
              + row + ", field '" + fieldName + "' column " + column + " holds id " + id
              + ", but module '" + module.name() + "' has ids 0-" + (vocabulary - 1)
              + " there; raise its vocabularySize to at least " + field.vocabularySizes()[column]);
        }
      }
    }
  }
}
