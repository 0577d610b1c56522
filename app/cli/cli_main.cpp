// dcscope-cli: the headless front end over dcscope_core.
#include <cstdio>
#include <string>

#include <c10/util/Exception.h>

#include "app_version.h"
#include "cli_commands.h"
#include "cli_common.h"
#include "dcscope/errors.h"
#include "dcscope/threads.h"

int main(int argc, char** argv) {
    CLI::App app{"dcscope-cli: DC-Solver / UniPC / DPM-Solver++ sampling, search and benchmarks"};
    app.require_subcommand(1);
    // Global, and accepted after the command name too (fallthrough is inherited by subcommands).
    app.fallthrough();
    int threads = 0;
    app.add_option("--threads", threads,
                   "Intra-op threads for the model (default: OMP_NUM_THREADS, else every CPU this process may use)")
        ->check(CLI::NonNegativeNumber);
    // Runs after parsing and before the command's callback, so the command already uses it.
    app.parse_complete_callback([&threads] { dcscope::configureIntraOpThreads(threads); });
    app.set_version_flag("--version", std::string("dcscope-cli ") + dcscopeVersion());
    dcscope::cli::registerSampleCommand(app);
    dcscope::cli::registerInfoCommand(app);
    dcscope::cli::registerBenchCommand(app);
    dcscope::cli::registerGroundTruthCommand(app);
    dcscope::cli::registerSearchCommand(app);
    dcscope::cli::registerEvaluateCommand(app);
    dcscope::cli::registerCprCommand(app);
    dcscope::cli::registerSearchBenchCommand(app);
    dcscope::cli::registerQualityCommand(app);
    dcscope::cli::installInterruptHandler();
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "dcscope-cli: error: %s\n", e.what());
        return 2;
    } catch (const dcscope::Error& e) {
        std::fprintf(stderr, "dcscope-cli: error: %s\n", e.what());
        return e.code() == dcscope::ErrorCode::Cancelled ? 130 : 2;
    } catch (const c10::Error& e) {
        std::fprintf(stderr, "dcscope-cli: torch error: %s\n", e.what_without_backtrace());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dcscope-cli: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
