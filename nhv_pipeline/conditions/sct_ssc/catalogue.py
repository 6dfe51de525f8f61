"""The sct_ssc indicator catalogue, declared as data (INDICATORS.md section 2).

Texts are from seed 000_230e9ad7520d9e65.txt (version 1.0, 2023-01-03): name, Mått
(measure_text), Mätenhet (unit_of_measure), Syfte (purpose), category, indicator type,
direction, data source, Teknisk beskrivning (technical_description) and Felkällor och
begränsningar (limitations), empty where the seed leaves them empty (P1's Teknisk beskrivning).
`n_counts` says what N is, from the seed's "totalantalet (N) …" where it says it. One source for the catalogue JSON, the UI descriptions, the
preview and the tests.
"""

from __future__ import annotations

from nhv_pipeline.core.condition import Counts, Population, Specification
from nhv_pipeline.indicators.model import Indicator, TableInput, current, paragraphs, pooled_input

from . import indicators

CONDITION_ID = "sct_ssc"

#: sct B2 pools this many measurement years (seed B2: "aggregeras på fler år";
#: INDICATORS.md section 2: configuration, default 3).
DEFAULT_B2_POOLED_YEARS = 3

_BAKGRUND = "Bakgrundsmått"
_PAS = "Patientadministrativa system"
#: The paragraph most Teknisk beskrivning texts of the seed repeat.
_DEFINITION = "Definition av vården som ingår i tillståndsområdet redovisas i bilaga 1."
_DISTRIBUTION_UNIT_DAYS = "Tid i antal dagar (medelvärde och standardavvikelse, 10:e percentil, median, 90:e percentil)"


_COMMON = {"condition_id": CONDITION_ID}

#: Version 1.0 of the follow-up document, 2023-01-03: the ten indicators.
VERSION_1_0 = (
    Indicator(
        **_COMMON,
        indicator_id="B1",
        name="Antal patienter",
        measures=("count",),
        breakdowns=("total", "home_region", "sex"),
        first_report_year=2024, cohort_lag=0, pooled_years=1,
        inputs=(current("referrals"), current("patients")),
        rule_version="1",
        rule=indicators.b1_patients,
        counts=(Counts("assessed_patients"),),
        measure_text="Antal patienter som bedömts inför eventuell behandling inom NHV-definitionen för SCT vid systemisk skleros.",
        unit_of_measure="Antal",
        purpose=(
            "Att få en bild av det totala antalet patienter, eventuell fördelning av diagnoser inom "
            "tillståndet och patienternas hemortsregion. Att kunna följa utvecklingen, "
            "remitteringsmönster och patientfördelning inom nationell högspecialiserad vård."
        ),
        category=_BAKGRUND, indicator_type="Bakgrundsmått", direction="descriptive", data_source=_PAS,
        technical_description=paragraphs(
            "Antal patienter som bedömts någon gång under året inom NHV-definitionen för viss vård vid SCT.",
            "Definition av vården som ingår i tillståndsområdet redovisas i bilaga 1. Patienter med tidig "
            "diagnosticerad systemisk skleros, där prognosen bedöms vara allvarlig på grund av inre "
            "organpåverkan och/eller mycket snabb och utbredd hudprogress, ska remitteras till en nationell "
            "enhet för bedömning, vidare utredning och eventuell blodstamcellstransplantation.",
            "I detta bakgrundsmått är mätenheten antal patienter totalt och uppdelat på kön och patientens "
            "hemregion.",
        ),
        n_counts="patienter som bedömts under mätperioden (varje patient räknas en gång)",
    ),
    Indicator(
        **_COMMON,
        indicator_id="B2",
        name="Ålder hos patienter",
        measures=("distribution",),
        breakdowns=("total",),
        first_report_year=2024, cohort_lag=0, pooled_years=DEFAULT_B2_POOLED_YEARS,
        inputs=(pooled_input("transplants", DEFAULT_B2_POOLED_YEARS), pooled_input("patients", DEFAULT_B2_POOLED_YEARS)),
        rule_version="1",
        rule=indicators.b2_age,
        counts=(Counts("transplanted_patients_pooled"),),
        riket_percentiles=False,
        pooling_configurable=True,
        measure_text="Ålder hos patienter med systemisk skleros som genomgått stamcellstransplantation.",
        unit_of_measure="Ålder i antal år (medelvärde och standardavvikelse, 10:e percentil, median, 90:e percentil)",
        purpose=(
            "Att ge en bild av patienternas ålder vid NHV-enheten. Att kunna följa utvecklingen och "
            "patientfördelning inom nationell högspecialiserad vård."
        ),
        category=_BAKGRUND, indicator_type="Bakgrundsmått", direction="descriptive", data_source=_PAS,
        technical_description=paragraphs(
            "Ålder hos samtliga patienter med systemisk skleros som under året behandlats med "
            "stamcellstransplantation.",
            _DEFINITION,
            "Detta bakgrundsmått innefattar samtliga patienter som behandlats under året. För "
            "patientpopulationen beräknas medel, standardavvikelse, median och 10:e respektive 90: "
            "percentilen för ålder vid återföring av stamceller.",
        ),
        limitations=paragraphs(
            "Givet förväntat lågt antal patienter kommer inte data kunna visas årligen utan aggregeras på "
            "fler år.",
        ),
        n_counts="patienter som stamcellstransplanterats under de sammanslagna åren (varje patient räknas en "
            "gång, vid den första transplantationen)",
    ),
    Indicator(
        **_COMMON,
        indicator_id="B3",
        name="Antal stamcellstransplantationer",
        measures=("count",),
        breakdowns=("total", "home_region"),
        first_report_year=2024, cohort_lag=0, pooled_years=1,
        inputs=(current("transplants"), current("patients")),
        rule_version="1",
        rule=indicators.b3_transplants,
        counts=(Counts("transplants"),),
        measure_text="Antal stamcellstransplantationer utförda på patienter med systemisk skleros",
        unit_of_measure="Antal",
        purpose=(
            "Att få en bild av det totala antalet stamcellstransplantationer vid NHV-enheterna. "
            "Att kunna följa utvecklingen inom nationell högspecialiserad vård."
        ),
        category=_BAKGRUND, indicator_type="Bakgrundsmått", direction="descriptive", data_source=_PAS,
        technical_description=paragraphs(
            "Antal stamcellstransplantationer som genomförts någon gång under året inom NHV-definitionen "
            "för viss vård vid SCT.",
            _DEFINITION,
            "I detta bakgrundsmått är mätenheten antal genomförda stamcellstransplantationer totalt.",
        ),
        n_counts="stamcellstransplantationer med återföring av stamceller under mätperioden",
    ),
    Indicator(
        **_COMMON,
        indicator_id="B4",
        name="Vårdtid",
        measures=("distribution",),
        breakdowns=("total",),
        first_report_year=2024, cohort_lag=0, pooled_years=1,
        inputs=(current("transplants"),),
        rule_version="1",
        rule=indicators.b4_length_of_stay,
        counts=(Counts("discharged_stays"),),
        measure_text="Vårdtid på NHV-enheten per inneliggande behandlingstillfälle för patienter inom definitionen för viss vård vid SCT.",
        unit_of_measure="Tid i antal dygn (medelvärde och standardavvikelse, 10:e percentil, median, 90:e percentil)",
        purpose="Att ge en bild av hur länge patienter inom NHV-definitionen vårdas vid NHV-enheten.",
        category=_BAKGRUND, indicator_type="Bakgrundsmått", direction="descriptive", data_source=_PAS,
        technical_description=paragraphs(
            "Antal dygn som patienten vårdats vid NHV-enheten under behandlingstillfället inom "
            "NHV-definitionen. Vårdtiden beräknas från dagen då stamceller återförs till patienten till "
            "utskrivningsdatum.",
            _DEFINITION,
            "Måttet innefattar samtliga avslutade vårdtillfällen under året (året innan inrapporteringsår) "
            "då patient med systemisk skleros genomgått stamcellstransplantation.",
        ),
        limitations=paragraphs(
            "Allmänt hälsotillstånd och sjukdomsgrad kan variera mellan patienter, vilket kan påverka "
            "resultatet.",
        ),
        n_counts="vårdtillfällen (transplantationer med utskrivningsdatum under mätperioden)",
    ),
    Indicator(
        **_COMMON,
        indicator_id="T1",
        name="Tid till beslut om stamcellstransplantation",
        measures=("distribution",),
        breakdowns=("total", "sct_offered"),
        first_report_year=2024, cohort_lag=0, pooled_years=1,
        inputs=(current("referrals"),),
        rule_version="1",
        rule=indicators.t1_time_to_decision,
        counts=(Counts("decided_referrals"),),
        measure_text="Tid från remiss till beslut om stamcellstransplantation",
        unit_of_measure=_DISTRIBUTION_UNIT_DAYS,
        purpose=(
            "Att säkerställa att patienter får vård i tid. Att följa utredningstiden inför "
            "stamcellstransplantation vid systemisk skleros."
        ),
        category="Tillgänglighetsmått", indicator_type="Processindikator",
        direction="lower_is_better", data_source=_PAS,
        technical_description=paragraphs(
            "Antal dagar från remiss av patienter till NHV-enhet (registrerad remiss) till beslut om "
            "eventuell stamcellstransplantation. Måttet innefattar remitterade patienter enligt mått B1 och "
            "tid till beslut redovisas separat för de som erbjuds SCT och de som inte erbjuds SCT.",
            _DEFINITION,
        ),
        limitations=paragraphs(
            "Olika former av remisshantering mellan regioner är faktorer utanför NHV-enheten som kan "
            "påverka tiden.",
        ),
        n_counts="remitterade patienter (remisser med bedömning under mätperioden och ett beslutsdatum)",
    ),
    Indicator(
        **_COMMON,
        indicator_id="T2",
        name="Tid från beslut om stamcellstransplantation till påbörjad stamcellsbehandling",
        measures=("distribution",),
        breakdowns=("total",),
        first_report_year=2024, cohort_lag=0, pooled_years=1,
        inputs=(current("transplants"),),
        rule_version="1",
        rule=indicators.t2_time_to_treatment,
        counts=(Counts("transplants"),),
        measure_text="Tid från beslut om stamcellstransplantation till påbörjad stamcellsbehandling",
        unit_of_measure=_DISTRIBUTION_UNIT_DAYS,
        purpose="Att säkerställa att patienter får vård i tid.",
        category="Tillgänglighetsmått", indicator_type="Processindikator",
        direction="lower_is_better", data_source=_PAS,
        technical_description=paragraphs(
            "Antal dagar från beslut på MDK att patient ska genomgå SCT tills dess att cell-mobiliserande "
            "dos cyklofosfamid ges (första steget i stamcellsbehandling.) Måttet innefattar samtliga "
            "stamcellstransplantationer utförda på patienter med systemisk skleros under året före "
            "rapportår.",
            _DEFINITION,
        ),
        limitations=paragraphs(
            "Patientvald väntan kan påverka tiden.",
        ),
        n_counts="stamcellstransplantationer med återföring av stamceller under mätperioden",
    ),
    Indicator(
        **_COMMON,
        indicator_id="R1",
        name="Transplantationsrelaterad överlevnad",
        measures=("proportion",),
        breakdowns=("total",),
        first_report_year=2025, cohort_lag=2, pooled_years=1,
        # Cohort year R-2 is the measurement year of D(R-1); outcomes from D(R).
        inputs=(TableInput("transplants", (-1, -1)), current("followup")),
        rule_version="1",
        rule=indicators.r1_survival_100_days,
        counts=(Counts("r1_cohort"),),
        measure_text="Andel patienter som är vid liv 100 dagar efter återföring av stamceller.",
        unit_of_measure="Andel i procent",
        purpose=(
            "Måttet avser att mäta kvaliteten/överlevnaden efter behandlingen inom definitionen av SCT, "
            "och det fortsatta omhändertagandet i vårdkedjan efter utskrivning från NHV-enheten"
        ),
        category="Resultatmått", indicator_type="Resultatindikator", direction="higher_is_better",
        data_source="Patientadministrativa system eller kvalitetsregister",
        technical_description=paragraphs(
            "Måttet innefattar samtliga patienter som behandlats någon gång under året inom definitionen "
            "för SCT. Undantagna är de patienter som avlider av orsak orelaterad till transplantationen.",
            "Täljare: Antal behandlingar, enligt nämnaren, där patienten är vid liv 100 dagar efter "
            "behandling.",
            "Nämnare: Samtliga patienter som behandlats två år innan rapportår.",
        ),
        limitations=paragraphs(
            "Allmänt hälsotillstånd och sjukdomsgrad kan variera mellan patienter, vilket kan påverka "
            "resultatet. Ett fåtal patienter kan missas om de transplanteras sista veckan på året.",
        ),
        n_counts="transplantationer i kohorten efter undantag (nämnaren)",
    ),
    Indicator(
        **_COMMON,
        indicator_id="R2",
        name="Sjukdomsfri överlevnad",
        measures=("proportion",),
        breakdowns=("total",),
        first_report_year=2026, cohort_lag=3, pooled_years=1,
        # Cohort year R-3 is the measurement year of D(R-2); outcomes from D(R).
        inputs=(TableInput("transplants", (-2, -2)), current("followup")),
        rule_version="1",
        rule=indicators.r2_progression_free_survival,
        counts=(Counts("transplants", year=-2),),
        measure_text="Andel patienter som är vid liv utan att deras sjukdom förvärrats inom två år efter återföring av celler",
        unit_of_measure="Andel patienter",
        purpose="Måttet avser att mäta kvaliteten på behandlingen av SCT.",
        category="Resultatmått", indicator_type="Resultatindikator", direction="higher_is_better",
        data_source="Lokala datakällor. På sikt Kvalitetsregister SCT.",
        technical_description=paragraphs(
            "Måttet innefattar samtliga patienter som stamcellstransplanterats någon gång under "
            "behandlingsåret (tre år före rapportår) inom definitionen för viss vård vid SCT. Måttet är "
            "progressionsfri överlevnad två år efter återföring av stamceller. Med progressionsfri "
            "överlevnad menas att man är vid liv samt att man inte drabbats av bestående organskada enligt "
            "endera av följande:\n"
            "- hjärtsvikt, definierat som ejektionsfraktion <30% via MR hjärta eller hjärt-eko,\n"
            "- lungsvikt (pO2 i vila <8 kPa och eller pCO2 i vila >6,7 kPa utan syrgas, alternativt "
            "kroniskt syrgasbehov,\n"
            "- njursvikt (uremi eller kvarstående dialysbehov eller genomgången organtransplantation).",
            "Täljare: Antal patienter, enligt nämnaren som är vid liv samt att deras sjukdom inte "
            "förvärrats enligt ovan två år efter återföring av stamceller.",
            "Nämnare: Samtliga patienter som behandlats med stamcellstransplantationer tre år före "
            "inrapporteringsåret.",
        ),
        limitations=paragraphs(
            "Allmänt hälsotillstånd och sjukdomsgrad kan variera mellan patienter, vilket kan påverka "
            "resultatet.",
        ),
        n_counts="transplantationer i kohorten (nämnaren)",
    ),
    Indicator(
        **_COMMON,
        indicator_id="P1",
        name="Patientnöjdhet",
        measures=("response_rate",),
        breakdowns=("total",),
        first_report_year=2025, cohort_lag=0, pooled_years=1,
        inputs=(current("survey"),),
        rule_version="1",
        rule=indicators.p1_response_rate,
        counts=(Counts("survey_recipients"),),
        # The seed leaves Mått and Mätenhet empty (development indicator); the
        # published measure is the response rate its "Om redovisningsnivåer" names.
        measure_text=(
            "Enkätens svarsfrekvens (antal patienter som behandlats/vårdats på NHV-enhet och som "
            "besvarat enkäten). Frågan i enkäten är ännu inte definierad (utvecklingsindikator)."
        ),
        unit_of_measure="Svarsfrekvens, andel i procent",
        purpose=(
            "Att mäta patientens upplevelse av vården för att utveckla verksamheten. Att mäta "
            "patientens upplevelse av vården, delaktighet/inflytande och möjlighet att påverka "
            "besluten i den egna vården."
        ),
        # The seed's Riktning is empty: a response rate has no desired direction here.
        category="Patientrapporterat mått", indicator_type="Utvecklingsindikator",
        direction="descriptive", data_source="Lokal datakälla",
        n_counts="patienter som fått enkäten under mätperioden (nämnaren)",
    ),
    Indicator(
        **_COMMON,
        indicator_id="Ö1",
        name="Individuell vårdplan",
        measures=("proportion",),
        breakdowns=("total",),
        first_report_year=2024, cohort_lag=0, pooled_years=1,
        inputs=(current("referrals"),),
        rule_version="1",
        rule=indicators.o1_care_plan,
        counts=(Counts("assessed_patients"),),
        measure_text="Andel bedömda patienter som erhåller en individuell vårdplan",
        unit_of_measure="Andel i procent",
        purpose=(
            "Att säkerställa att patienten får en individuell vårdplan. Att säkerställa "
            "informationsöverföring från NHV till ansvarig vårdenhet i remitterande region samt att "
            "säkerställa och visa på en trygg övergång från NHV till vården i patientens hemregion. "
            "Främja samverkan mellan NHV-enhet och remittent, öka patientsäkerheten samt förbättra "
            "vårdkedjan för patienter som behandlas inom NHV-definitionen."
        ),
        category="Överrapporteringsmått", indicator_type="Processindikator",
        direction="higher_is_better", data_source=_PAS,
        technical_description=paragraphs(
            "Måttet innefattar samtliga patienter som remitterats till NHV-enheten enligt mått B1.",
            "Täljare: Antal patienter enligt nämnaren som vid utskrivning fått en individuell vårdplan.",
            "Nämnare: Totalt antal patienter som bedömts enligt mått B1 under året",
        ),
        n_counts="patienter som bedömts enligt mått B1 (nämnaren)",
    ),
)


SPECIFICATIONS = (Specification(version="1.0", date="2023-01-03", from_report_year=2024, indicators=VERSION_1_0),)

#: The populations the indicators count (INDICATORS.md section 2), each declared once; the
#: disclosure audit's equal populations are derived from the indicators' `counts`.
POPULATIONS = (
    Population("assessed_patients", "the B1 population: patients with a referral assessed in P(R)"),
    Population("transplanted_patients_pooled", "patients with a reinfusion in the pooled window, each once"),
    Population("transplants", "the transplants with reinfusion_date in P(R)"),
    Population("discharged_stays", "the transplants' inpatient stays ended (discharge_date) in P(R)"),
    Population("decided_referrals", "referrals assessed in P(R) with a decision"),
    Population("r1_cohort", "the R1 cohort: transplants of cohort year R-2 with their follow-up in D(R)"),
    Population("survey_recipients", "patients sent the survey in P(R)"),
)
