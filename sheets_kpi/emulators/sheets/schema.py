"""Request-body validation from the Sheets discovery document, as Google's JSON parser does it.

An unknown member or a value of the wrong JSON type fails the whole request with the API's text:
`Invalid JSON payload received. Unknown name "x" at 'requests[0].update_sheet_properties':
Cannot find field.` The field table below is generated from `sheets.v4.json` (discovery
revision 20261019, in shared/conformance/google-discovery/) by
`python -m sheets_kpi.emulators.sheets.schema path/to/sheets.v4.json` and covers every message
reachable from BatchUpdateSpreadsheetRequest. Codes: i int32, d double, f float, b bool,
s string (enums, masks, timestamps), m free-form object, `[` repeated, else a message name.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import textwrap
from typing import Any

from sheets_kpi.emulators.sheets.errors import ApiError, invalid

FIELDS = """
BatchUpdateSpreadsheetRequest commentsViewMode:s includeSpreadsheetInResponse:b
  requests:[Request responseIncludeGridData:b responseRanges:[s
Request addBanding:AddBandingRequest addChart:AddChartRequest
  addCommentReply:AddCommentReplyRequest
  addConditionalFormatRule:AddConditionalFormatRuleRequest addDataSource:AddDataSourceRequest
  addDimensionGroup:AddDimensionGroupRequest addFilterView:AddFilterViewRequest
  addNamedRange:AddNamedRangeRequest addProtectedRange:AddProtectedRangeRequest
  addSheet:AddSheetRequest addSlicer:AddSlicerRequest addTable:AddTableRequest
  appendCells:AppendCellsRequest appendDimension:AppendDimensionRequest autoFill:AutoFillRequest
  autoResizeDimensions:AutoResizeDimensionsRequest
  cancelDataSourceRefresh:CancelDataSourceRefreshRequest
  clearBasicFilter:ClearBasicFilterRequest copyPaste:CopyPasteRequest
  createDeveloperMetadata:CreateDeveloperMetadataRequest cutPaste:CutPasteRequest
  deleteBanding:DeleteBandingRequest deleteComment:DeleteCommentRequest
  deleteCommentReply:DeleteCommentReplyRequest
  deleteConditionalFormatRule:DeleteConditionalFormatRuleRequest
  deleteDataSource:DeleteDataSourceRequest
  deleteDeveloperMetadata:DeleteDeveloperMetadataRequest deleteDimension:DeleteDimensionRequest
  deleteDimensionGroup:DeleteDimensionGroupRequest deleteDuplicates:DeleteDuplicatesRequest
  deleteEmbeddedObject:DeleteEmbeddedObjectRequest deleteFilterView:DeleteFilterViewRequest
  deleteNamedRange:DeleteNamedRangeRequest deleteProtectedRange:DeleteProtectedRangeRequest
  deleteRange:DeleteRangeRequest deleteSheet:DeleteSheetRequest deleteTable:DeleteTableRequest
  duplicateFilterView:DuplicateFilterViewRequest duplicateSheet:DuplicateSheetRequest
  findReplace:FindReplaceRequest insertComment:InsertCommentRequest
  insertDimension:InsertDimensionRequest insertRange:InsertRangeRequest
  mergeCells:MergeCellsRequest moveDimension:MoveDimensionRequest pasteData:PasteDataRequest
  randomizeRange:RandomizeRangeRequest refreshDataSource:RefreshDataSourceRequest
  repeatCell:RepeatCellRequest setBasicFilter:SetBasicFilterRequest
  setDataValidation:SetDataValidationRequest sortRange:SortRangeRequest
  textToColumns:TextToColumnsRequest trimWhitespace:TrimWhitespaceRequest
  unmergeCells:UnmergeCellsRequest updateBanding:UpdateBandingRequest
  updateBorders:UpdateBordersRequest updateCells:UpdateCellsRequest
  updateChartSpec:UpdateChartSpecRequest updateCommentPost:UpdateCommentPostRequest
  updateConditionalFormatRule:UpdateConditionalFormatRuleRequest
  updateDataSource:UpdateDataSourceRequest
  updateDeveloperMetadata:UpdateDeveloperMetadataRequest
  updateDimensionGroup:UpdateDimensionGroupRequest
  updateDimensionProperties:UpdateDimensionPropertiesRequest
  updateEmbeddedObjectBorder:UpdateEmbeddedObjectBorderRequest
  updateEmbeddedObjectPosition:UpdateEmbeddedObjectPositionRequest
  updateFilterView:UpdateFilterViewRequest updateNamedRange:UpdateNamedRangeRequest
  updateProtectedRange:UpdateProtectedRangeRequest
  updateSheetProperties:UpdateSheetPropertiesRequest updateSlicerSpec:UpdateSlicerSpecRequest
  updateSpreadsheetProperties:UpdateSpreadsheetPropertiesRequest updateTable:UpdateTableRequest
AddBandingRequest bandedRange:BandedRange
AddChartRequest chart:EmbeddedChart
AddCommentReplyRequest commentId:s post:Post
AddConditionalFormatRuleRequest index:i rule:ConditionalFormatRule
AddDataSourceRequest dataSource:DataSource
AddDimensionGroupRequest range:DimensionRange
AddFilterViewRequest filter:FilterView
AddNamedRangeRequest namedRange:NamedRange
AddProtectedRangeRequest protectedRange:ProtectedRange
AddSheetRequest properties:SheetProperties
AddSlicerRequest slicer:Slicer
AddTableRequest table:Table
AppendCellsRequest fields:s rows:[RowData sheetId:i tableId:s
AppendDimensionRequest dimension:s length:i sheetId:i
AutoFillRequest range:GridRange sourceAndDestination:SourceAndDestination useAlternateSeries:b
AutoResizeDimensionsRequest dataSourceSheetDimensions:DataSourceSheetDimensionRange
  dimensions:DimensionRange
CancelDataSourceRefreshRequest dataSourceId:s isAll:b references:DataSourceObjectReferences
ClearBasicFilterRequest sheetId:i
CopyPasteRequest destination:GridRange pasteOrientation:s pasteType:s source:GridRange
CreateDeveloperMetadataRequest developerMetadata:DeveloperMetadata
CutPasteRequest destination:GridCoordinate pasteType:s source:GridRange
DeleteBandingRequest bandedRangeId:i
DeleteCommentRequest commentId:s
DeleteCommentReplyRequest commentId:s postId:s
DeleteConditionalFormatRuleRequest index:i sheetId:i
DeleteDataSourceRequest dataSourceId:s
DeleteDeveloperMetadataRequest dataFilter:DataFilter
DeleteDimensionRequest range:DimensionRange
DeleteDimensionGroupRequest range:DimensionRange
DeleteDuplicatesRequest comparisonColumns:[DimensionRange range:GridRange
DeleteEmbeddedObjectRequest objectId:i
DeleteFilterViewRequest filterId:i
DeleteNamedRangeRequest namedRangeId:s
DeleteProtectedRangeRequest protectedRangeId:i
DeleteRangeRequest range:GridRange shiftDimension:s
DeleteSheetRequest sheetId:i
DeleteTableRequest tableId:s
DuplicateFilterViewRequest filterId:i
DuplicateSheetRequest insertSheetIndex:i newSheetId:i newSheetName:s sourceSheetId:i
FindReplaceRequest allSheets:b find:s includeFormulas:b matchCase:b matchEntireCell:b
  range:GridRange replacement:s searchByRegex:b sheetId:i
InsertCommentRequest assigneeEmailAddress:s content:s coordinate:GridCoordinate
InsertDimensionRequest inheritFromBefore:b range:DimensionRange
InsertRangeRequest range:GridRange shiftDimension:s
MergeCellsRequest mergeType:s range:GridRange
MoveDimensionRequest destinationIndex:i source:DimensionRange
PasteDataRequest coordinate:GridCoordinate data:s delimiter:s html:b type:s
RandomizeRangeRequest range:GridRange
RefreshDataSourceRequest dataSourceId:s force:b isAll:b references:DataSourceObjectReferences
RepeatCellRequest cell:CellData fields:s range:GridRange
SetBasicFilterRequest filter:BasicFilter
SetDataValidationRequest filteredRowsIncluded:b range:GridRange rule:DataValidationRule
SortRangeRequest range:GridRange sortSpecs:[SortSpec
TextToColumnsRequest delimiter:s delimiterType:s source:GridRange
TrimWhitespaceRequest range:GridRange
UnmergeCellsRequest range:GridRange
UpdateBandingRequest bandedRange:BandedRange fields:s
UpdateBordersRequest bottom:Border innerHorizontal:Border innerVertical:Border left:Border
  range:GridRange right:Border top:Border
UpdateCellsRequest fields:s range:GridRange rows:[RowData start:GridCoordinate
UpdateChartSpecRequest chartId:i spec:ChartSpec
UpdateCommentPostRequest commentId:s content:s postId:s
UpdateConditionalFormatRuleRequest index:i newIndex:i rule:ConditionalFormatRule sheetId:i
UpdateDataSourceRequest dataSource:DataSource fields:s
UpdateDeveloperMetadataRequest dataFilters:[DataFilter developerMetadata:DeveloperMetadata
  fields:s
UpdateDimensionGroupRequest dimensionGroup:DimensionGroup fields:s
UpdateDimensionPropertiesRequest dataSourceSheetRange:DataSourceSheetDimensionRange fields:s
  properties:DimensionProperties range:DimensionRange
UpdateEmbeddedObjectBorderRequest border:EmbeddedObjectBorder fields:s objectId:i
UpdateEmbeddedObjectPositionRequest fields:s newPosition:EmbeddedObjectPosition objectId:i
UpdateFilterViewRequest fields:s filter:FilterView
UpdateNamedRangeRequest fields:s namedRange:NamedRange
UpdateProtectedRangeRequest fields:s protectedRange:ProtectedRange
UpdateSheetPropertiesRequest fields:s properties:SheetProperties
UpdateSlicerSpecRequest fields:s slicerId:i spec:SlicerSpec
UpdateSpreadsheetPropertiesRequest fields:s properties:SpreadsheetProperties
UpdateTableRequest fields:s table:Table
BandedRange bandedRangeId:i bandedRangeReference:s columnProperties:BandingProperties
  range:GridRange rowProperties:BandingProperties
EmbeddedChart border:EmbeddedObjectBorder chartId:i position:EmbeddedObjectPosition
  spec:ChartSpec
Post assigneeEmail:s author:PostAuthor commentAction:s content:s contentHtml:s createTime:s
  deleted:b fromCopiedSpreadsheet:b fromImportedSpreadsheet:b postId:s updateTime:s
ConditionalFormatRule booleanRule:BooleanRule gradientRule:GradientRule ranges:[GridRange
DataSource calculatedColumns:[DataSourceColumn dataSourceId:s sheetId:i spec:DataSourceSpec
DimensionRange dimension:s endIndex:i sheetId:i startIndex:i
FilterView criteria:m filterSpecs:[FilterSpec filterViewId:i namedRangeId:s range:GridRange
  sortSpecs:[SortSpec tableId:s title:s
NamedRange name:s namedRangeId:s range:GridRange
ProtectedRange description:s editors:Editors namedRangeId:s protectedRangeId:i range:GridRange
  requestingUserCanEdit:b tableId:s unprotectedRanges:[GridRange warningOnly:b
SheetProperties dataSourceSheetProperties:DataSourceSheetProperties
  gridProperties:GridProperties hidden:b index:i rightToLeft:b sheetId:i sheetType:s
  tabColor:Color tabColorStyle:ColorStyle title:s
Slicer position:EmbeddedObjectPosition slicerId:i spec:SlicerSpec
Table columnProperties:[TableColumnProperties name:s range:GridRange
  rowsProperties:TableRowsProperties tableId:s
RowData values:[CellData
GridRange endColumnIndex:i endRowIndex:i sheetId:i startColumnIndex:i startRowIndex:i
SourceAndDestination dimension:s fillLength:i source:GridRange
DataSourceSheetDimensionRange columnReferences:[DataSourceColumnReference sheetId:i
DataSourceObjectReferences references:[DataSourceObjectReference
DeveloperMetadata location:DeveloperMetadataLocation metadataId:i metadataKey:s metadataValue:s
  visibility:s
GridCoordinate columnIndex:i rowIndex:i sheetId:i
DataFilter a1Range:s developerMetadataLookup:DeveloperMetadataLookup gridRange:GridRange
CellData chipRuns:[ChipRun dataSourceFormula:DataSourceFormula dataSourceTable:DataSourceTable
  dataValidation:DataValidationRule effectiveFormat:CellFormat effectiveValue:ExtendedValue
  formattedValue:s hyperlink:s note:s pivotTable:PivotTable textFormatRuns:[TextFormatRun
  userEnteredFormat:CellFormat userEnteredValue:ExtendedValue
BasicFilter criteria:m filterSpecs:[FilterSpec range:GridRange sortSpecs:[SortSpec tableId:s
DataValidationRule condition:BooleanCondition inputMessage:s showCustomUi:b strict:b
SortSpec backgroundColor:Color backgroundColorStyle:ColorStyle
  dataSourceColumnReference:DataSourceColumnReference dimensionIndex:i foregroundColor:Color
  foregroundColorStyle:ColorStyle sortOrder:s
Border color:Color colorStyle:ColorStyle style:s width:i
ChartSpec altText:s backgroundColor:Color backgroundColorStyle:ColorStyle
  basicChart:BasicChartSpec bubbleChart:BubbleChartSpec candlestickChart:CandlestickChartSpec
  dataSourceChartProperties:DataSourceChartProperties filterSpecs:[FilterSpec fontName:s
  hiddenDimensionStrategy:s histogramChart:HistogramChartSpec maximized:b orgChart:OrgChartSpec
  pieChart:PieChartSpec scorecardChart:ScorecardChartSpec sortSpecs:[SortSpec subtitle:s
  subtitleTextFormat:TextFormat subtitleTextPosition:TextPosition title:s
  titleTextFormat:TextFormat titleTextPosition:TextPosition treemapChart:TreemapChartSpec
  waterfallChart:WaterfallChartSpec
DimensionGroup collapsed:b depth:i range:DimensionRange
DimensionProperties dataSourceColumnReference:DataSourceColumnReference
  developerMetadata:[DeveloperMetadata hiddenByFilter:b hiddenByUser:b pixelSize:i
EmbeddedObjectBorder color:Color colorStyle:ColorStyle
EmbeddedObjectPosition newSheet:b overlayPosition:OverlayPosition sheetId:i
SlicerSpec applyToPivotTables:b backgroundColor:Color backgroundColorStyle:ColorStyle
  columnIndex:i dataRange:GridRange filterCriteria:FilterCriteria horizontalAlignment:s
  textFormat:TextFormat title:s
SpreadsheetProperties autoRecalc:s defaultFormat:CellFormat
  importFunctionsExternalUrlAccessAllowed:b
  iterativeCalculationSettings:IterativeCalculationSettings locale:s
  spreadsheetTheme:SpreadsheetTheme timeZone:s title:s
BandingProperties firstBandColor:Color firstBandColorStyle:ColorStyle footerColor:Color
  footerColorStyle:ColorStyle headerColor:Color headerColorStyle:ColorStyle
  secondBandColor:Color secondBandColorStyle:ColorStyle
PostAuthor anonymous:b displayName:s me:b user:s
BooleanRule condition:BooleanCondition format:CellFormat
GradientRule maxpoint:InterpolationPoint midpoint:InterpolationPoint minpoint:InterpolationPoint
DataSourceColumn formula:s reference:DataSourceColumnReference
DataSourceSpec bigQuery:BigQueryDataSourceSpec looker:LookerDataSourceSpec
  parameters:[DataSourceParameter
FilterSpec columnIndex:i dataSourceColumnReference:DataSourceColumnReference
  filterCriteria:FilterCriteria
Editors domainUsersCanEdit:b groups:[s users:[s
DataSourceSheetProperties columns:[DataSourceColumn dataExecutionStatus:DataExecutionStatus
  dataSourceId:s
GridProperties columnCount:i columnGroupControlAfter:b frozenColumnCount:i frozenRowCount:i
  hideGridlines:b rowCount:i rowGroupControlAfter:b
Color alpha:f blue:f green:f red:f
ColorStyle rgbColor:Color themeColor:s
TableColumnProperties columnIndex:i columnName:s columnType:s
  dataValidationRule:TableColumnDataValidationRule
TableRowsProperties firstBandColorStyle:ColorStyle footerColorStyle:ColorStyle
  headerColorStyle:ColorStyle secondBandColorStyle:ColorStyle
DataSourceColumnReference name:s
DataSourceObjectReference chartId:i dataSourceFormulaCell:GridCoordinate
  dataSourcePivotTableAnchorCell:GridCoordinate dataSourceTableAnchorCell:GridCoordinate
  sheetId:s
DeveloperMetadataLocation dimensionRange:DimensionRange locationType:s sheetId:i spreadsheet:b
DeveloperMetadataLookup locationMatchingStrategy:s locationType:s metadataId:i metadataKey:s
  metadataLocation:DeveloperMetadataLocation metadataValue:s visibility:s
ChipRun chip:Chip startIndex:i
DataSourceFormula dataExecutionStatus:DataExecutionStatus dataSourceId:s
DataSourceTable columnSelectionType:s columns:[DataSourceColumnReference
  dataExecutionStatus:DataExecutionStatus dataSourceId:s filterSpecs:[FilterSpec rowLimit:i
  sortSpecs:[SortSpec
CellFormat backgroundColor:Color backgroundColorStyle:ColorStyle borders:Borders
  horizontalAlignment:s hyperlinkDisplayType:s numberFormat:NumberFormat padding:Padding
  textDirection:s textFormat:TextFormat textRotation:TextRotation verticalAlignment:s
  wrapStrategy:s
ExtendedValue boolValue:b errorValue:ErrorValue formulaValue:s numberValue:d stringValue:s
PivotTable columns:[PivotGroup criteria:m dataExecutionStatus:DataExecutionStatus dataSourceId:s
  filterSpecs:[PivotFilterSpec rows:[PivotGroup source:GridRange valueLayout:s
  values:[PivotValue
TextFormatRun format:TextFormat startIndex:i
BooleanCondition type:s values:[ConditionValue
BasicChartSpec axis:[BasicChartAxis chartType:s compareMode:s domains:[BasicChartDomain
  headerCount:i interpolateNulls:b legendPosition:s lineSmoothing:b series:[BasicChartSeries
  stackedType:s threeDimensional:b totalDataLabel:DataLabel
BubbleChartSpec bubbleBorderColor:Color bubbleBorderColorStyle:ColorStyle bubbleLabels:ChartData
  bubbleMaxRadiusSize:i bubbleMinRadiusSize:i bubbleOpacity:f bubbleSizes:ChartData
  bubbleTextStyle:TextFormat domain:ChartData groupIds:ChartData legendPosition:s
  series:ChartData
CandlestickChartSpec data:[CandlestickData domain:CandlestickDomain
DataSourceChartProperties dataExecutionStatus:DataExecutionStatus dataSourceId:s
HistogramChartSpec bucketSize:d legendPosition:s outlierPercentile:d series:[HistogramSeries
  showItemDividers:b
OrgChartSpec labels:ChartData nodeColor:Color nodeColorStyle:ColorStyle nodeSize:s
  parentLabels:ChartData selectedNodeColor:Color selectedNodeColorStyle:ColorStyle
  tooltips:ChartData
PieChartSpec domain:ChartData legendPosition:s pieHole:d series:ChartData threeDimensional:b
ScorecardChartSpec aggregateType:s baselineValueData:ChartData
  baselineValueFormat:BaselineValueFormat customFormatOptions:ChartCustomNumberFormatOptions
  keyValueData:ChartData keyValueFormat:KeyValueFormat numberFormatSource:s scaleFactor:d
TextFormat bold:b fontFamily:s fontSize:i foregroundColor:Color foregroundColorStyle:ColorStyle
  italic:b link:Link strikethrough:b underline:b
TextPosition horizontalAlignment:s
TreemapChartSpec colorData:ChartData colorScale:TreemapChartColorScale headerColor:Color
  headerColorStyle:ColorStyle hideTooltips:b hintedLevels:i labels:ChartData levels:i maxValue:d
  minValue:d parentLabels:ChartData sizeData:ChartData textFormat:TextFormat
WaterfallChartSpec connectorLineStyle:LineStyle domain:WaterfallChartDomain firstValueIsTotal:b
  hideConnectorLines:b series:[WaterfallChartSeries stackedType:s totalDataLabel:DataLabel
OverlayPosition anchorCell:GridCoordinate heightPixels:i offsetXPixels:i offsetYPixels:i
  widthPixels:i
FilterCriteria condition:BooleanCondition hiddenValues:[s visibleBackgroundColor:Color
  visibleBackgroundColorStyle:ColorStyle visibleForegroundColor:Color
  visibleForegroundColorStyle:ColorStyle
IterativeCalculationSettings convergenceThreshold:d maxIterations:i
SpreadsheetTheme primaryFontFamily:s themeColors:[ThemeColorPair
InterpolationPoint color:Color colorStyle:ColorStyle type:s value:s
BigQueryDataSourceSpec projectId:s querySpec:BigQueryQuerySpec tableSpec:BigQueryTableSpec
LookerDataSourceSpec explore:s instanceUri:s model:s
DataSourceParameter name:s namedRangeId:s range:GridRange
DataExecutionStatus errorCode:s errorMessage:s lastRefreshTime:s state:s
TableColumnDataValidationRule condition:BooleanCondition
Chip personProperties:PersonProperties richLinkProperties:RichLinkProperties
Borders bottom:Border left:Border right:Border top:Border
NumberFormat pattern:s type:s
Padding bottom:i left:i right:i top:i
TextRotation angle:i vertical:b
ErrorValue message:s type:s
PivotGroup dataSourceColumnReference:DataSourceColumnReference groupLimit:PivotGroupLimit
  groupRule:PivotGroupRule label:s repeatHeadings:b showTotals:b sortOrder:s
  sourceColumnOffset:i valueBucket:PivotGroupSortValueBucket
  valueMetadata:[PivotGroupValueMetadata
PivotFilterSpec columnOffsetIndex:i dataSourceColumnReference:DataSourceColumnReference
  filterCriteria:PivotFilterCriteria
PivotValue calculatedDisplayType:s dataSourceColumnReference:DataSourceColumnReference formula:s
  name:s sourceColumnOffset:i summarizeFunction:s
ConditionValue relativeDate:s userEnteredValue:s
BasicChartAxis format:TextFormat position:s title:s titleTextPosition:TextPosition
  viewWindowOptions:ChartAxisViewWindowOptions
BasicChartDomain domain:ChartData reversed:b
BasicChartSeries color:Color colorStyle:ColorStyle dataLabel:DataLabel lineStyle:LineStyle
  pointStyle:PointStyle series:ChartData styleOverrides:[BasicSeriesDataPointStyleOverride
  targetAxis:s type:s
DataLabel customLabelData:ChartData placement:s textFormat:TextFormat type:s
ChartData aggregateType:s columnReference:DataSourceColumnReference groupRule:ChartGroupRule
  sourceRange:ChartSourceRange
CandlestickData closeSeries:CandlestickSeries highSeries:CandlestickSeries
  lowSeries:CandlestickSeries openSeries:CandlestickSeries
CandlestickDomain data:ChartData reversed:b
HistogramSeries barColor:Color barColorStyle:ColorStyle data:ChartData
BaselineValueFormat comparisonType:s description:s negativeColor:Color
  negativeColorStyle:ColorStyle position:TextPosition positiveColor:Color
  positiveColorStyle:ColorStyle textFormat:TextFormat
ChartCustomNumberFormatOptions prefix:s suffix:s
KeyValueFormat position:TextPosition textFormat:TextFormat
Link uri:s
TreemapChartColorScale maxValueColor:Color maxValueColorStyle:ColorStyle midValueColor:Color
  midValueColorStyle:ColorStyle minValueColor:Color minValueColorStyle:ColorStyle
  noDataColor:Color noDataColorStyle:ColorStyle
LineStyle type:s width:i
WaterfallChartDomain data:ChartData reversed:b
WaterfallChartSeries customSubtotals:[WaterfallChartCustomSubtotal data:ChartData
  dataLabel:DataLabel hideTrailingSubtotal:b negativeColumnsStyle:WaterfallChartColumnStyle
  positiveColumnsStyle:WaterfallChartColumnStyle subtotalColumnsStyle:WaterfallChartColumnStyle
ThemeColorPair color:ColorStyle colorType:s
BigQueryQuerySpec rawQuery:s
BigQueryTableSpec datasetId:s tableId:s tableProjectId:s
PersonProperties displayFormat:s email:s
RichLinkProperties mimeType:s uri:s
PivotGroupLimit applyOrder:i countLimit:i
PivotGroupRule dateTimeRule:DateTimeRule histogramRule:HistogramRule manualRule:ManualRule
PivotGroupSortValueBucket buckets:[ExtendedValue valuesIndex:i
PivotGroupValueMetadata collapsed:b value:ExtendedValue
PivotFilterCriteria condition:BooleanCondition visibleByDefault:b visibleValues:[s
ChartAxisViewWindowOptions viewWindowMax:d viewWindowMin:d viewWindowMode:s
PointStyle shape:s size:d
BasicSeriesDataPointStyleOverride color:Color colorStyle:ColorStyle index:i
  pointStyle:PointStyle
ChartGroupRule dateTimeRule:ChartDateTimeRule histogramRule:ChartHistogramRule
ChartSourceRange sources:[GridRange
CandlestickSeries data:ChartData
WaterfallChartCustomSubtotal dataIsSubtotal:b label:s subtotalIndex:i
WaterfallChartColumnStyle color:Color colorStyle:ColorStyle label:s
DateTimeRule type:s
HistogramRule end:d interval:d start:d
ManualRule groups:[ManualRuleGroup
ChartDateTimeRule type:s
ChartHistogramRule intervalSize:d maxValue:d minValue:d
ManualRuleGroup groupName:ExtendedValue items:[ExtendedValue
"""
ROOT = "BatchUpdateSpreadsheetRequest"
_SCALARS: dict[str, tuple[type, ...]] = {
    "i": (int,),
    "d": (int, float),
    "f": (int, float),
    "b": (bool,),
    "s": (str,),
}
_SCALAR_NAMES = {"i": "TYPE_INT32", "d": "TYPE_DOUBLE", "f": "TYPE_FLOAT", "b": "TYPE_BOOL"}


@functools.cache
def table() -> dict[str, dict[str, str]]:
    """Message name → {field name: type code}."""
    out = {}
    for line in re.sub(r"\n +", " ", FIELDS).strip().splitlines():
        name, *fields = line.split()
        out[name] = dict(field.split(":", 1) for field in fields)
    return out


@functools.lru_cache(maxsize=4096)
def snake(name: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", name).lower()


@functools.lru_cache(maxsize=4096)
def camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m[1].upper(), name)


def validate(body: dict[str, Any], message: str = ROOT) -> dict[str, Any]:
    """The body with proto field names (`sheet_id`) read as JSON names (`sheetId`), or the
    API's 400 for the first unknown member or mistyped value."""
    return _check(body, message, None)


#: Where a value sits, as (parent, field name or list index); spelled out only for an error,
#: since a large write checks hundreds of thousands of values.
Path = tuple["Path", str | int] | None


def _where(path: Path) -> str:
    parts: list[str] = []
    while path is not None:
        path, part = path
        parts.append(f"[{part}]" if isinstance(part, int) else f".{snake(part)}")
    return "".join(reversed(parts)).lstrip(".")


def _check(value: Any, code: str, path: Path) -> Any:
    if value is None or code in ("m", "*"):
        return value
    if code == "CellData" and _typed_value(value):
        return value  # checked as the general path would, tens of thousands at a time
    if code in _SCALARS:
        return _scalar(value, code, path)
    if code.startswith("["):
        if not isinstance(value, list):
            raise _bad(path, code[1:], value)
        item_code = code[1:]
        return [_check(item, item_code, (path, index)) for index, item in enumerate(value)]
    if not isinstance(value, dict):
        raise _bad(path, code, value)
    fields = table()[code]
    out = {}
    for key, item in value.items():
        name = key if key in fields else camel(key)
        if name not in fields:
            where = f" at '{_where(path)}'" if path else ""
            raise invalid(
                f'Invalid JSON payload received. Unknown name "{key}"{where}: Cannot find field.'
            )
        out[name] = _check(item, fields[name], (path, name))
    return out


#: The one member of a typed userEnteredValue and the types its value may have as it is.
_TYPED = {"stringValue": (str,), "numberValue": (int, float), "boolValue": (bool,)}


def _typed_value(cell: Any) -> bool:
    """A CellData that is `{}` or a single typed userEnteredValue (a RAW-like `updateCells`
    sends nothing else): valid as it stands, and what the general check would return."""
    if not isinstance(cell, dict) or len(cell) > 1:
        return False
    if not cell:
        return True
    inner = cell.get("userEnteredValue")
    if not isinstance(inner, dict) or len(inner) != 1:
        return False
    ((kind, value),) = inner.items()
    allowed = _TYPED.get(kind)
    return (
        allowed is not None
        and isinstance(value, allowed)
        and (kind == "boolValue" or not isinstance(value, bool))
    )


def _scalar(value: Any, code: str, path: Path) -> Any:
    """Numbers may come as JSON strings ("5"), as protobuf's JSON mapping allows."""
    if code in "idf" and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise _bad(path, code, value) from None
        return int(number) if code == "i" else number
    if isinstance(value, bool) != (code == "b") or not isinstance(value, _SCALARS[code]):
        raise _bad(path, code, value)
    if code == "i" and isinstance(value, float) and not value.is_integer():
        raise _bad(path, code, value)
    return int(value) if code == "i" else value


def _bad(path: Path, code: str, value: Any) -> ApiError:
    kind = _SCALAR_NAMES.get(code) or (
        "TYPE_STRING" if code == "s" else f"type.googleapis.com/google.apps.sheets.v4.{code}"
    )
    shown = json.dumps(value, ensure_ascii=False)
    return invalid(f"Invalid value at '{_where(path)}' ({kind}), {shown}")


def generate(discovery: dict[str, Any], root: str = ROOT) -> str:
    """The FIELDS table for every message reachable from `root`, wrapped at 96 columns."""
    schemas, lines, todo, seen = discovery["schemas"], [], [root], set()
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        fields = []
        for field, spec in schemas[name].get("properties", {}).items():
            fields.append(f"{field}:{_code(spec)}")
            ref = spec.get("$ref") or spec.get("items", {}).get("$ref")
            if ref:
                todo.append(ref)
        lines += textwrap.wrap(" ".join([name, *fields]), 96, subsequent_indent="  ")
    return "\n".join(lines)


def _code(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        return spec["$ref"]
    kind = spec.get("type")
    if kind == "array":
        return "[" + _code(spec["items"])
    if kind == "integer":
        return "i"
    if kind == "number":
        return "f" if spec.get("format") == "float" else "d"
    return {"boolean": "b", "string": "s", "object": "m"}.get(kind or "", "*")


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        print(generate(json.load(handle)))
